//! A small dnstwist-like fuzzer: each function returns variants of a name
//! (the label before the public suffix), as dnstwist's fuzzers of the same
//! name do, so detection can be measured technique by technique.

const VOWELS: &str = "aeiou";

/// dnstwist's three keyboard layouts.
fn keyboard_neighbours(c: char) -> String {
    let layouts: [&[&str]; 3] = [
        &["1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm"],
        &["1234567890-", "qwertzuiop", "asdfghjkl", "yxcvbnm"],
        &["1234567890-", "azertyuiop", "qsdfghjklm", "wxcvbn"],
    ];
    let mut out = String::new();
    for rows in layouts {
        let grid: Vec<Vec<char>> = rows.iter().map(|r| r.chars().collect()).collect();
        for (r, row) in grid.iter().enumerate() {
            for (i, &k) in row.iter().enumerate() {
                if k != c {
                    continue;
                }
                for dr in [-1i32, 0, 1] {
                    for di in [-1i32, 0, 1] {
                        let (rr, ii) = (r as i32 + dr, i as i32 + di);
                        if (dr, di) == (0, 0) || rr < 0 || ii < 0 {
                            continue;
                        }
                        if let Some(&n) = grid.get(rr as usize).and_then(|g| g.get(ii as usize))
                            && n.is_ascii_alphanumeric()
                        {
                            out.push(n);
                        }
                    }
                }
            }
        }
    }
    out
}

/// dnstwist's glyph table (single characters and ASCII sequences) plus the
/// Cyrillic and Greek letters that pass for Latin ones.
fn glyphs(c: char) -> Vec<&'static str> {
    let list: &[&str] = match c {
        'a' => &[
            "à", "á", "â", "ã", "ä", "å", "ɑ", "ạ", "ǎ", "ă", "ȧ", "ą", "а", "α",
        ],
        'b' => &["d", "lb", "ʙ", "ɓ", "ḃ", "ḅ", "ḇ", "ƅ", "ь"],
        'c' => &["e", "ƈ", "ċ", "ć", "ç", "č", "ĉ", "ᴄ", "с", "ϲ"],
        'd' => &[
            "b", "cl", "dl", "ɗ", "đ", "ď", "ɖ", "ḑ", "ḋ", "ḍ", "ḏ", "ḓ", "ԁ",
        ],
        'e' => &[
            "c", "é", "è", "ê", "ë", "ē", "ĕ", "ě", "ė", "ẹ", "ę", "ȩ", "ɇ", "ḛ", "е",
        ],
        'f' => &["ƒ", "ḟ"],
        'g' => &["q", "ɢ", "ɡ", "ġ", "ğ", "ǵ", "ģ", "ĝ", "ǧ", "ǥ"],
        'h' => &[
            "lh", "ĥ", "ȟ", "ħ", "ɦ", "ḧ", "ḩ", "ⱨ", "ḣ", "ḥ", "ḫ", "ẖ", "һ",
        ],
        'i' => &[
            "1", "l", "í", "ì", "ï", "ı", "ɩ", "ǐ", "ĭ", "ỉ", "ị", "ɨ", "ȋ", "ī", "ɪ", "і",
        ],
        'j' => &["ʝ", "ǰ", "ɉ", "ĵ", "ј"],
        'k' => &["lk", "ik", "lc", "ḳ", "ḵ", "ⱪ", "ķ", "ᴋ", "κ"],
        'l' => &["1", "i", "ɫ", "ł", "ӏ"],
        'm' => &["n", "nn", "rn", "rr", "ṁ", "ṃ", "ᴍ", "ɱ", "ḿ"],
        'n' => &["m", "r", "ń", "ṅ", "ṇ", "ṉ", "ñ", "ņ", "ǹ", "ň", "ꞑ", "п"],
        'o' => &["0", "ȯ", "ọ", "ỏ", "ơ", "ó", "ö", "ᴏ", "о", "ο"],
        'p' => &["ƿ", "ƥ", "ṕ", "ṗ", "р", "ρ"],
        'q' => &["g", "ʠ", "ԛ"],
        'r' => &[
            "ʀ", "ɼ", "ɽ", "ŕ", "ŗ", "ř", "ɍ", "ɾ", "ȓ", "ȑ", "ṙ", "ṛ", "ṟ", "г",
        ],
        's' => &["ʂ", "ś", "ṣ", "ṡ", "ș", "ŝ", "š", "ꜱ", "ѕ"],
        't' => &["ţ", "ŧ", "ṫ", "ṭ", "ț", "ƫ", "τ"],
        'u' => &[
            "ᴜ", "ǔ", "ŭ", "ü", "ʉ", "ù", "ú", "û", "ũ", "ū", "ų", "ư", "ů", "ű", "ȕ", "ȗ", "ụ",
            "υ",
        ],
        'v' => &["ṿ", "ⱱ", "ᶌ", "ṽ", "ⱴ", "ν"],
        'w' => &["vv", "ŵ", "ẁ", "ẃ", "ẅ", "ⱳ", "ẇ", "ẉ", "ẘ", "ᴡ", "ԝ", "ω"],
        'x' => &["ẋ", "ẍ", "х", "χ"],
        'y' => &["ʏ", "ý", "ÿ", "ŷ", "ƴ", "ȳ", "ɏ", "ỿ", "ẏ", "ỵ", "у"],
        'z' => &["ʐ", "ż", "ź", "ᴢ", "ƶ", "ẓ", "ẕ", "ⱬ"],
        _ => &[],
    };
    list.to_vec()
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn with_inserted(name: &[char], at: usize, s: &str) -> String {
    let mut out: String = name[..at].iter().collect();
    out.push_str(s);
    out.extend(&name[at..]);
    out
}

fn with_replaced(name: &[char], at: usize, s: &str) -> String {
    let mut out: String = name[..at].iter().collect();
    out.push_str(s);
    out.extend(&name[at + 1..]);
    out
}

fn addition(name: &str) -> Vec<String> {
    let n = chars(name);
    let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    (0..=n.len())
        .flat_map(|i| alphabet.iter().map(move |c| (i, *c)))
        .map(|(i, c)| with_inserted(&n, i, &c.to_string()))
        .collect()
}

fn omission(name: &str) -> Vec<String> {
    let n = chars(name);
    (0..n.len()).map(|i| with_replaced(&n, i, "")).collect()
}

fn repetition(name: &str) -> Vec<String> {
    let n = chars(name);
    (0..n.len())
        .filter(|&i| n[i].is_ascii_alphanumeric())
        .map(|i| with_inserted(&n, i, &n[i].to_string()))
        .collect()
}

fn replacement(name: &str) -> Vec<String> {
    let n = chars(name);
    let mut out = Vec::new();
    for i in 0..n.len() {
        for k in keyboard_neighbours(n[i]).chars() {
            out.push(with_replaced(&n, i, &k.to_string()));
        }
    }
    out
}

fn transposition(name: &str) -> Vec<String> {
    let n = chars(name);
    (0..n.len().saturating_sub(1))
        .filter(|&i| n[i] != n[i + 1])
        .map(|i| {
            let mut v = n.clone();
            v.swap(i, i + 1);
            v.into_iter().collect()
        })
        .collect()
}

fn insertion(name: &str) -> Vec<String> {
    let n = chars(name);
    let mut out = Vec::new();
    for i in 0..n.len() {
        for k in keyboard_neighbours(n[i]).chars() {
            out.push(with_inserted(&n, i, &k.to_string()));
            out.push(with_inserted(&n, i + 1, &k.to_string()));
        }
    }
    out
}

fn hyphenation(name: &str) -> Vec<String> {
    let n = chars(name);
    let mut out: Vec<String> = (1..n.len()).map(|i| with_inserted(&n, i, "-")).collect();
    out.extend(
        (0..n.len())
            .filter(|&i| n[i] == '-')
            .map(|i| with_replaced(&n, i, "")),
    );
    out
}

fn vowel_swap(name: &str) -> Vec<String> {
    let n = chars(name);
    let mut out = Vec::new();
    for i in (0..n.len()).filter(|&i| VOWELS.contains(n[i])) {
        for v in VOWELS.chars().filter(|&v| v != n[i]) {
            out.push(with_replaced(&n, i, &v.to_string()));
        }
    }
    out
}

fn bitsquatting(name: &str) -> Vec<String> {
    let n = chars(name);
    let mut out = Vec::new();
    for i in 0..n.len() {
        for bit in 0..8 {
            let flipped = char::from(n[i] as u8 ^ (1 << bit));
            if flipped.is_ascii_lowercase() || flipped.is_ascii_digit() || flipped == '-' {
                out.push(with_replaced(&n, i, &flipped.to_string()));
            }
        }
    }
    out
}

/// dnstwist's first homoglyph pass: in every window, every occurrence of one
/// character replaced by one of its glyphs.
fn homoglyph(name: &str) -> Vec<String> {
    let n = chars(name);
    let mut out = Vec::new();
    for w in 1..n.len() {
        for i in 0..=n.len() - w {
            let window = &n[i..i + w];
            for &c in window {
                for g in glyphs(c) {
                    let mut s: String = n[..i].iter().collect();
                    for &x in window {
                        if x == c {
                            s.push_str(g);
                        } else {
                            s.push(x);
                        }
                    }
                    s.extend(&n[i + w..]);
                    out.push(s);
                }
            }
        }
    }
    out
}

/// Full domains (not just names) for the suffix-level techniques.
fn tld_swap(name: &str, suffix: &str) -> Vec<String> {
    let tlds = [
        "com",
        "net",
        "org",
        "co",
        "uk",
        "co.uk",
        "org.uk",
        "ltd.uk",
        "me.uk",
        "com.au",
        "net.au",
        "au",
        "ie",
        "info",
        "biz",
        "io",
        "eu",
        "us",
        "ca",
        "de",
        "nz",
        "co.nz",
        "online",
        "site",
        "xyz",
        "app",
        "github.io",
    ];
    tlds.iter()
        .filter(|t| **t != suffix)
        .map(|t| format!("{name}.{t}"))
        .collect()
}

fn subdomain(name: &str, suffix: &str) -> Vec<String> {
    let n = chars(name);
    // dnstwist's own subdomain fuzzer: a dot inside the name.
    let mut out: Vec<String> = (1..n.len())
        .filter(|&i| n[i] != '-' && n[i - 1] != '-')
        .map(|i| format!("{}.{suffix}", with_inserted(&n, i, ".")))
        .collect();
    let dashed = suffix.replace('.', "-");
    let glued = suffix.replace('.', "");
    out.extend([
        format!("{name}.{suffix}.secure-pay.com"),
        format!("{name}.{suffix}-invoices.net"),
        format!("{name}.{suffix}.com"),
        format!("{name}.secure-pay.com"),
        format!("pay.{name}.invoice-portal.net"),
        format!("{name}.payments.co.uk"),
        format!("{name}-{dashed}.com"),
        format!("{name}{glued}.com"),
        format!("{name}-payments.com"),
        format!("secure-{name}.net"),
        format!("{name}-invoices.co.uk"),
        format!("{name}ltd.com"),
        format!("my{name}.com"),
    ]);
    out
}

type Fuzzer = fn(&str) -> Vec<String>;

/// Each technique's variants of `domain`, as full domains.
pub(super) fn fuzz(domain: &str) -> Vec<(&'static str, Vec<String>)> {
    let (name, suffix) = domain.split_once('.').unwrap();
    let on_name: [(&str, Fuzzer); 10] = [
        ("addition", addition),
        ("omission", omission),
        ("repetition", repetition),
        ("replacement", replacement),
        ("transposition", transposition),
        ("insertion", insertion),
        ("hyphenation", hyphenation),
        ("vowel-swap", vowel_swap),
        ("bitsquatting", bitsquatting),
        ("homoglyph", homoglyph),
    ];
    let mut out: Vec<(&str, Vec<String>)> = on_name
        .iter()
        .map(|(t, f)| {
            (
                *t,
                f(name)
                    .into_iter()
                    .map(|v| format!("{v}.{suffix}"))
                    .collect(),
            )
        })
        .collect();
    out.push(("tld-swap", tld_swap(name, suffix)));
    out.push(("subdomain", subdomain(name, suffix)));
    out
}

/// The variant as a valid ASCII DNS name, if it is one and differs from
/// the original.
pub(super) fn valid_variant(variant: &str, original: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii_strict(variant).ok()?;
    (ascii != original).then_some(ascii)
}
