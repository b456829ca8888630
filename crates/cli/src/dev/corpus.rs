//! A generator of realistic mixed mailboxes for benchmarks and load tests:
//! ordinary invoices, statements, remittances, quotes, newsletters, internal
//! mail and every fraud pattern, about 6% with a PDF invoice attached. The
//! same seed always gives the same corpus, so benchmark runs are comparable.

use anyhow::Context as _;
use std::fmt::Write as _;
use std::path::Path;

/// A small deterministic random generator (xorshift64*): no dependency, and
/// reproducible across platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// (name, domain, sort code, account, phone) of the corpus's suppliers; the
/// UK pairs pass Vocalink modulus checks.
const SUPPLIERS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Apex Scaffolding Ltd",
        "apexscaffolding.co.uk",
        "08-99-99",
        "66374958",
        "+44 20 7946 0001",
    ),
    (
        "Northgate Plant Hire Ltd",
        "northgateplant.co.uk",
        "10-79-99",
        "88837491",
        "+44 161 496 0002",
    ),
    (
        "Brickworks Supplies Ltd",
        "brickworks-supplies.co.uk",
        "20-29-59",
        "63748472",
        "+44 113 496 0003",
    ),
    (
        "Redline Electrical Ltd",
        "redline-electrical.co.uk",
        "87-14-27",
        "46238510",
        "+44 117 496 0004",
    ),
    (
        "Castle Roofing Ltd",
        "castleroofing.co.uk",
        "82-00-00",
        "73688637",
        "+44 131 496 0005",
    ),
    (
        "Summit Groundworks Ltd",
        "summitgroundworks.co.uk",
        "77-41-00",
        "71298794",
        "+44 121 496 0006",
    ),
];

const LOOKALIKES: &[&str] = &[
    "apexscaffolding.co",
    "apex-scaffolding.co.uk",
    "apexscaffo1ding.co.uk",
    "northgateplants.co.uk",
    "brickwork-supplies.co.uk",
    "redline-electricals.co.uk",
];

/// Writes `suppliers.csv` and `count` messages into `dir/mail/`.
pub(crate) fn generate(dir: &Path, count: usize, seed: u64) -> anyhow::Result<()> {
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).with_context(|| format!("cannot create {}", mail.display()))?;
    let mut csv = String::from("name,domains,phone,country,sort_code,account_number\n");
    for (name, domain, sort, acct, phone) in SUPPLIERS {
        let _ = writeln!(csv, "{name},{domain},{phone},GB,{sort},{acct}");
    }
    std::fs::write(dir.join("suppliers.csv"), csv)?;
    let mut rng = Rng(seed | 1);
    for i in 0..count {
        let msg = message(&mut rng, i);
        std::fs::write(mail.join(format!("{i:06}.eml")), msg)?;
    }
    Ok(())
}

fn message(rng: &mut Rng, i: usize) -> Vec<u8> {
    let day = 1 + (i / 400) % 28;
    let hour = 7 + (i % 11);
    let minute = i % 60;
    let date = format!("Mon, {day} Nov 2026 {hour:02}:{minute:02}:00 +0000");
    let s = *rng.pick(SUPPLIERS);
    let inv = 10_000 + rng.below(90_000);
    let pounds = 200 + rng.below(9_000);
    let pence = rng.below(100);
    let roll = rng.below(100);
    let with_pdf = rng.below(100) < 6;
    let (from, subject, body) = match roll {
        0..=34 => (
            format!("{} Accounts <accounts@{}>", s.0, s.1),
            format!("Invoice INV-{inv} from {}", s.0),
            format!(
                "Dear Hartley Build accounts team,\n\nPlease find our invoice INV-{inv} for works at the Riverside site.\n\nInvoice total: £{pounds}.{pence:02}\nDue date: {}/12/2026\n\nPlease pay by BACS to:\nSort code: {}\nAccount number: {}\n\nVAT Reg No: GB 980 7806 84\n\nKind regards,\nAccounts\n{}\n{}\n",
                1 + rng.below(28),
                s.2,
                s.3,
                s.0,
                s.4
            ),
        ),
        35..=44 => (
            format!("{} <statements@{}>", s.0, s.1),
            format!("Statement of account - November 2026 - {}", s.0),
            format!("Hello,\n\nAttached is your statement of account. Opening balance £{pounds}.00, closing balance £{}.{pence:02}.\n\nInvoices outstanding: INV-{inv}, INV-{}.\n\nThanks,\n{}\n", pounds + 300, inv + 7, s.0),
        ),
        45..=54 => (
            "Riverside Developments <payables@riversidedev.co.uk>".to_owned(),
            format!("Remittance advice - payment {inv}"),
            format!("Remittance advice\n\nWe have paid £{pounds}.{pence:02} against your invoice HB-{inv} by faster payment today.\n\nRiverside Developments Ltd payables\n"),
        ),
        55..=62 => (
            format!("{} Estimating <quotes@{}>", s.0, s.1),
            format!("Quotation Q-{inv} for Hartley Build"),
            format!("Hi Tom,\n\nThanks for the enquiry. Our quotation Q-{inv} for the scaffold at Mill Lane is £{pounds}.00 + VAT.\nQuote valid 30 days.\n\nRegards,\n{}\n", s.0),
        ),
        63..=80 => (
            "BuildBase Offers <news@mail.buildersdepot.co.uk>".to_owned(),
            format!("{}% off power tools this week only", 10 + rng.below(40)),
            "<html><body><h1>Winter deals</h1><p>Stop chasing invoices: our trade account makes billing simple.</p><table><tr><td>Drill</td><td>£89</td></tr></table><p><a href=\"https://mail.buildersdepot.co.uk/u\">Unsubscribe</a> | View in browser</p></body></html>".to_owned(),
        ),
        81..=88 => (
            "Sarah Hartley <sarah.hartley@hartleybuild.co.uk>".to_owned(),
            "Site meeting Thursday".to_owned(),
            "Hi all,\n\nSite meeting at Mill Lane on Thursday at 8am. Hard hats please.\n\nSarah\n".to_owned(),
        ),
        89..=92 => (
            format!("{} <accounts@{}>", s.0, rng.pick(LOOKALIKES)),
            "Change of bank details - urgent".to_owned(),
            format!("Dear customer,\n\nPlease note we have changed our bank. All future payments including invoice INV-{inv} for £{pounds}.00 must go to our new account:\n\nSort code: 20-00-00\nAccount: 55779911\n\nPlease update your records today.\n\n{}\n", s.0),
        ),
        93..=95 => (
            "Sarah Hartley <sarah.hartley.md@gmail.com>".to_owned(),
            "Urgent payment".to_owned(),
            format!("Tom,\n\nI need you to make a payment of £{pounds}.00 today for a confidential acquisition. I'm in a meeting, so email only.\n\nIBAN GB29 NWBK 6016 1331 9268 19\n\nSarah\n"),
        ),
        _ => (
            format!("{} Accounts <accounts@{}>", s.0, s.1),
            format!("Invoice INV-{inv}"),
            format!("Please pay invoice INV-{inv}, total due £{pounds}.{pence:02}, to sort code 40-47-84 account 70872490.\n\nThanks\n{}\n", s.0),
        ),
    };
    let mut out = format!(
        "Authentication-Results: spf.protection.outlook.com; spf=pass smtp.mailfrom=example; dkim=pass; dmarc=pass action=none;compauth=pass reason=100\r\nFrom: {from}\r\nTo: Hartley Build Accounts <accounts@hartleybuild.co.uk>\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{i}.{}@corpus.sentra.test>\r\nMIME-Version: 1.0\r\n",
        rng.next()
    );
    let html = body.starts_with("<html>");
    if with_pdf {
        let lines: Vec<String> = vec![
            format!("INVOICE INV-{inv}"),
            s.0.to_owned(),
            "Bill to: Hartley Build Ltd".to_owned(),
            format!("Invoice total: GBP {pounds}.{pence:02}"),
            format!("Sort code {} Account {}", s.2, s.3),
            "Payment terms: 30 days".to_owned(),
        ];
        let pdf = sentra_cli::pdf::sample::invoice_pdf(&lines);
        let _ = write!(
            out,
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n--b{i}\r\nContent-Type: application/pdf; name=\"INV-{inv}.pdf\"\r\nContent-Disposition: attachment; filename=\"INV-{inv}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b{i}--\r\n",
            body.replace('\n', "\r\n"),
            base64(&pdf)
        );
    } else if html {
        let _ = write!(
            out,
            "Content-Type: text/html; charset=utf-8\r\nList-Unsubscribe: <https://mail.buildersdepot.co.uk/u>\r\n\r\n{body}\r\n"
        );
    } else {
        let _ = write!(
            out,
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
            body.replace('\n', "\r\n")
        );
    }
    out.into_bytes()
}

/// Standard base64 with 76-character lines, as mail clients write it.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 4);
    for (n, chunk) in data.chunks(3).enumerate() {
        if n > 0 && n % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn the_same_seed_gives_the_same_messages() {
        let a: Vec<Vec<u8>> = (0..20).scan(Rng(7), |r, i| Some(message(r, i))).collect();
        let b: Vec<Vec<u8>> = (0..20).scan(Rng(7), |r, i| Some(message(r, i))).collect();
        assert_eq!(a, b);
    }
}
