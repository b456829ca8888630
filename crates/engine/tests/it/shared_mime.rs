// Every file of ../shared/data/mime (RFC examples, legacy clients, Dovecot's
// malformed torture mails) is analysed without a panic and in bounded time,
// with CRLF and with LF line endings.

use sentra_engine::{Context, History, NoPdfExtractor, SupplierDirectory};
use std::time::{Duration, Instant};

#[test]
fn every_shared_mime_sample_is_analysed_without_panic_in_both_line_endings() {
    let Some(data) = sentra_domain::testdata::shared_data_dir() else {
        eprintln!("SKIPPED: ../shared/data is missing, the MIME samples were not checked");
        return;
    };
    let ctx = Context::new(
        SupplierDirectory::default(),
        &["hartleybuild.co.uk".to_owned()],
        Vec::new(),
        None,
    );
    let mut count = 0;
    let mut parsed = 0;
    for suite in ["rfc", "legacy", "thirdparty", "malformed"] {
        let dir = data.join("mime").join(suite);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let raw = std::fs::read(&path).unwrap();
            let lf: Vec<u8> = String::from_utf8_lossy(&raw)
                .replace("\r\n", "\n")
                .into_bytes();
            let crlf: Vec<u8> = String::from_utf8_lossy(&lf)
                .replace('\n', "\r\n")
                .into_bytes();
            for variant in [&raw, &lf, &crlf] {
                let started = Instant::now();
                let p = sentra_engine::prepare(variant, &ctx, &NoPdfExtractor);
                let a = sentra_engine::assess(&p, &ctx, &History::new());
                let report =
                    sentra_engine::message_report(&path.display().to_string(), &p, &a, &ctx);
                assert!(
                    started.elapsed() < Duration::from_secs(2),
                    "{} took {:?}",
                    path.display(),
                    started.elapsed()
                );
                assert!(serde_json::to_string(&report).is_ok());
                count += 1;
                parsed += usize::from(p.message.is_ok());
            }
        }
    }
    assert_eq!(count, 107 * 3, "expected every one of the 107 samples");
    // The RFC and legacy suites are well-formed: nearly everything must parse.
    assert!(parsed > count * 9 / 10, "only {parsed} of {count} parsed");
}
