//! Whole-engine benchmark: parse + extract + classify + assess per message,
//! next to mail-parser's bare parse of the same bytes (the floor the engine is
//! compared with in docs/PERFORMANCE.md).
//!
//! `cargo bench -p sentra-engine --bench analyse`

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sentra_engine::{Context, History, NoPdfExtractor, SupplierDirectory};
use std::hint::black_box;

const INVOICE: &str = "Authentication-Results: spf.protection.outlook.com; spf=pass smtp.mailfrom=apexscaffolding.co.uk; dkim=pass; dmarc=pass action=none;compauth=pass reason=100\r\nFrom: Apex Scaffolding Accounts <accounts@apexscaffolding.co.uk>\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: Invoice INV-20431 from Apex Scaffolding Ltd\r\nDate: Mon, 2 Nov 2026 09:14:00 +0000\r\nMessage-ID: <20431@apexscaffolding.co.uk>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDear Hartley Build accounts team,\r\n\r\nPlease find our invoice INV-20431 for scaffold hire at the Riverside site,\r\nweeks 40-43.\r\n\r\nInvoice total: \u{a3}4,860.00\r\nDue date: 01/12/2026\r\n\r\nPlease pay by BACS to:\r\nSort code: 08-99-99\r\nAccount number: 66374958\r\n\r\nVAT Reg No: GB 980 7806 84\r\n\r\nKind regards,\r\nAccounts\r\nApex Scaffolding Ltd\r\n+44 20 7946 0001\r\n";

const NEWSLETTER: &str = "From: BuildBase Offers <news@mail.buildersdepot.co.uk>\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: 25% off power tools this week only\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <n1@mail.buildersdepot.co.uk>\r\nList-Unsubscribe: <https://mail.buildersdepot.co.uk/u>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><h1>Winter deals</h1><p>Stop chasing invoices: our trade account makes billing simple.</p><table><tr><td>Drill</td><td>\u{a3}89</td></tr><tr><td>Saw</td><td>\u{a3}129</td></tr></table><p><a href=\"https://mail.buildersdepot.co.uk/u\">Unsubscribe</a> | View in browser</p></body></html>\r\n";

const FRAUD: &str = "From: Apex Scaffolding <accounts@apexscaffo1ding.co.uk>\r\nReply-To: apex.payments@gmail.com\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: Re: Invoice INV-20431 - change of bank details\r\nDate: Mon, 2 Nov 2026 11:00:00 +0000\r\nMessage-ID: <f1@apexscaffo1ding.co.uk>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nPlease note we have changed our bank. Invoice INV-20431 for \u{a3}4,860.00 must be paid\r\nurgently to our new account:\r\n\r\nSort code: 20-29-59\r\nAccount: 63748472\r\n\r\nPlease keep this confidential.\r\n";

fn bench(c: &mut Criterion) {
    let suppliers = SupplierDirectory::from_csv(b"name,domains,phone,country,sort_code,account_number\nApex Scaffolding Ltd,apexscaffolding.co.uk,+44 20 7946 0001,GB,08-99-99,66374958\nNorthgate Plant Hire Ltd,northgateplant.co.uk,+44 161 496 0002,GB,10-79-99,88837491\n").unwrap_or_default();
    let ctx = Context::new(
        suppliers,
        &["hartleybuild.co.uk".to_owned()],
        Vec::new(),
        None,
    );
    let history = History::new();
    let mut group = c.benchmark_group("engine");
    for (name, msg) in [
        ("invoice", INVOICE),
        ("newsletter", NEWSLETTER),
        ("fraud", FRAUD),
    ] {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("analyse/{name}"), |b| {
            b.iter(|| {
                let p = sentra_engine::prepare(black_box(msg.as_bytes()), &ctx, &NoPdfExtractor);
                black_box(sentra_engine::assess(&p, &ctx, &history))
            });
        });
        group.bench_function(format!("mail_parser_only/{name}"), |b| {
            b.iter(|| {
                black_box(
                    mail_parser::MessageParser::default()
                        .parse(black_box(msg.as_bytes()))
                        .map(|m| m.parts.len()),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
