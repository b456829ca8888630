//! Extraction speed on a realistic ~2 KB invoice email and a ~2 KB newsletter.
//!
//! The engine must analyse at least 7,000 small messages per CPU-second, so
//! extraction over one such text has to stay well under 20 µs.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use sentra_domain::Currency;
use sentra_engine::extract::{ExtractContext, Location, extract};
use std::hint::black_box;
use time::macros::date;

const FOOTER: &str = "
This email and any attachments are confidential and intended solely for the
addressee. If you have received it in error please notify the sender and delete
it. Apex Building Supplies Ltd is registered in England and Wales, company
number 01234567. We will never change our bank details by email: if you
receive such a request, call us on the number you already hold for us.
";

const INVOICE_EMAIL: &str = "\
Subject: Invoice INV-20431 from Apex Building Supplies

Dear Accounts Team,

Please find attached invoice INV-20431 for materials delivered to the
Harbour Street site on 14 November 2026 (your PO 88213).

Invoice No: INV-20431
Invoice date: 01/11/2026
Due date: 1 December 2026
Payment terms: 30 days

Description                      Qty    Unit price     Amount
Timber joists 47x200 4.8m         40       £45.00    £1,800.00
Plasterboard 12.5mm 2400x1200    120       £12.50    £1,500.00
Delivery (Zone 2)                  1      £750.00      £750.00
Skip hire 8 yard (7 days)          0      £280.00        £0.00
Cement 25kg bags                  60        £6.50      £390.00
Sharp sand bulk bag                4       £52.50      £210.00
Credit: returned pallets (INV-20388)                   -£50.00

Subtotal: £4,050.00
VAT @ 20%: £810.00
Total due: £4,860.00

Please pay by bank transfer to:
Account name: Apex Building Supplies Ltd
Sort code: 20-29-59
Account number: 63748472
IBAN: GB29 NWBK 6016 1331 9268 19   BIC: NWBKGB2L

VAT Reg No: GB 980 7806 84
Registered office: 1 Dock Road, London E16 2QT. Tel: +44 20 7946 0958

If you have already paid, thank you, and please ignore this reminder. Any
query about this invoice must be raised within 7 days of receipt. Remittance
advice to remittances@apex-supplies.co.uk quoting the invoice number.

Kind regards,
Sarah Jones
Credit Control
Apex Building Supplies Ltd, Unit 4, Riverside Trade Park, London E16 2QT
";

const NEWSLETTER: &str = "\
Subject: Your December trade newsletter

Hello builder,

This month: new invoice software for small firms, winter opening hours
and 20% off selected power tools until 31 December 2026.

Opening hours: Mon-Fri 07:00-17:00, Sat 08:00-12:00. Call 0800 123 4567
or +44 20 7946 0958. Our Bristol branch (BS1 6XN) reopens on 5 January.

Webinar: managing cash flow in 2027, Thursday 10 December at 12:30.
Register at https://example.com/events/2027-cashflow?id=88213.

Tip of the month: always check an invoice against the purchase order
before you pay, and never change bank details on the strength of an email.
Our site teams have finished 42 projects this year across 7 regions, and
the new depot in Leeds (LS9 8AB) stocks over 3000 product lines, with
next-day delivery on orders placed before 2pm.

Events: the regional trade show runs 3-5 March 2027 at the NEC, stand B42.
Members get free parking and a 10% discount on orders placed at the show.
Last month 1,240 customers answered our survey; 87% rated delivery as good.

Product recall: batch 2231-B of the 18V drill chargers may overheat. Stop
using affected chargers and return them to any branch for a free replacement;
we will refund delivery costs. Full details and serial ranges are on our site.
Apprentice of the year nominations close on 15 February; winners receive a
tool voucher and a place on our advanced skills course in the spring.

Order reference numbers now have 10 digits (e.g. 1234567890).
Unsubscribe at any time. Trade Supplies Ltd, registered in England 01234567.
";

fn bench_extract(c: &mut Criterion) {
    let invoice = format!("{INVOICE_EMAIL}{FOOTER}");
    let newsletter = format!("{NEWSLETTER}{FOOTER}");
    let ctx = ExtractContext {
        modulus: None,
        reference_date: Some(date!(2026 - 11 - 01)),
        default_currency: Some(Currency::GBP),
    };
    let mut group = c.benchmark_group("extract");
    group.bench_function(format!("invoice_{}_bytes", invoice.len()), |b| {
        b.iter(|| extract(black_box(&invoice), &Location::Body, &ctx));
    });
    group.bench_function(format!("newsletter_{}_bytes", newsletter.len()), |b| {
        b.iter(|| extract(black_box(&newsletter), &Location::Body, &ctx));
    });
    group.finish();
}

criterion_group!(benches, bench_extract);
criterion_main!(benches);
