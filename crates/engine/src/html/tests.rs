use super::*;
use std::time::{Duration, Instant};

fn text(html: &str) -> String {
    html_to_text(html).text
}

#[test]
fn block_elements_end_lines_and_paragraphs_leave_a_blank_line() {
    let got = text("<div>Dear Sir</div><div>Please pay</div><p>Thanks</p><p>Apex</p>x<br>y");
    assert_eq!(got, "Dear Sir\nPlease pay\n\nThanks\n\nApex\n\nx\ny");
}

#[test]
fn table_cells_in_one_row_are_joined_with_bars() {
    let html = "<table><tr><th>Sort code</th><th>Account</th></tr>\
                <tr><td>12-34-56</td><td>12345678</td><td></td><td>Apex Ltd</td></tr></table>";
    assert_eq!(
        text(html),
        "Sort code | Account\n12-34-56 | 12345678 | Apex Ltd"
    );
}

#[test]
fn nested_layout_tables_do_not_produce_stray_separators() {
    let html = "<table><tr><td><table><tr><td>IBAN</td><td>GB33BUKB20201555555555</td></tr>\
                </table></td></tr></table>";
    assert_eq!(text(html), "IBAN | GB33BUKB20201555555555");
}

#[test]
fn script_style_title_head_comments_and_cdata_are_dropped() {
    let html = "<html><head><title>Invoice</title><style>p{color:red}</style>\
                <script>var a = '<p>no</p>';</script></head><body>\
                <!-- hidden <p>comment</p> -->Visible<![CDATA[ cdata ]]> text\
                <SCRIPT type=x>alert(1)</SCRIPT > end</body></html>";
    assert_eq!(text(html), "Visible text end");
}

#[test]
fn entities_are_decoded_in_text() {
    let html = "Total:&nbsp;&pound;1,200.00 or &euro;5 &amp; &lt;b&gt; &quot;q&quot; it&#39;s \
                &#163;3 &#x20AC;4 &copy 2024 &unknown; AT&T";
    assert_eq!(
        text(html),
        "Total: £1,200.00 or €5 & <b> \"q\" it's £3 €4 © 2024 &unknown; AT&T"
    );
}

#[test]
fn whitespace_collapses_within_lines_and_lines_are_trimmed() {
    let html = "  <p>  Please \n\t pay   now  </p>  \n  <div>   </div><div> ok </div>  ";
    assert_eq!(text(html), "Please pay now\n\nok");
}

#[test]
fn invisible_characters_are_removed() {
    assert_eq!(text("I\u{200B}B&#8203;AN: GB\u{00AD}33"), "IBAN: GB33");
}

#[test]
fn pre_keeps_its_line_breaks() {
    assert_eq!(
        text("<pre>Sort code 12-34-56\nAccount 12345678</pre>"),
        "Sort code 12-34-56\nAccount 12345678"
    );
}

#[test]
fn links_are_collected_and_their_real_target_is_shown_in_the_text() {
    let html = "Pay <a href=\"https://evil.example.com/pay?a=1&amp;b=2\">here</a> now. \
                See <A HREF='https://www.apex.co.uk/'>www.apex.co.uk</A>. \
                <a href=http://apex.co.uk>http://apex.co.uk</a>";
    let got = html_to_text(html);
    assert_eq!(
        got.text,
        "Pay here <https://evil.example.com/pay?a=1&b=2> now. See www.apex.co.uk. http://apex.co.uk"
    );
    assert_eq!(
        got.links,
        vec![
            Link {
                href: "https://evil.example.com/pay?a=1&b=2".into(),
                text: "here".into()
            },
            Link {
                href: "https://www.apex.co.uk/".into(),
                text: "www.apex.co.uk".into()
            },
            Link {
                href: "http://apex.co.uk".into(),
                text: "http://apex.co.uk".into()
            },
        ]
    );
}

#[test]
fn link_text_that_names_another_site_is_followed_by_the_real_one() {
    let got = text("<a href=\"https://apex-pay.example.net/\">https://www.apex.co.uk</a>");
    assert_eq!(
        got,
        "https://www.apex.co.uk <https://apex-pay.example.net/>"
    );
}

#[test]
fn mailto_links_are_kept_as_is_and_shown_when_they_differ_from_the_text() {
    let got = html_to_text(
        "<a href=\"mailto:accounts@apex.co.uk\">accounts@apex.co.uk</a>, \
         <a href='mailto:apex.accounts@gmail.com?subject=Invoice'>accounts@apex.co.uk</a>",
    );
    assert_eq!(
        got.text,
        "accounts@apex.co.uk, accounts@apex.co.uk <mailto:apex.accounts@gmail.com?subject=Invoice>"
    );
    assert_eq!(got.links[0].href, "mailto:accounts@apex.co.uk");
}

#[test]
fn image_only_links_show_their_target_and_other_schemes_do_not() {
    let got = html_to_text(
        "<a href=\"https://x.example/pay\"><img src=b.png></a>\
         <a href=\"tel:+441234\">Call</a><a name=top>Top</a><a href=\"#x\">Jump</a>",
    );
    assert_eq!(got.text, "<https://x.example/pay>CallTopJump");
    let hrefs: Vec<_> = got.links.iter().map(|l| l.href.as_str()).collect();
    assert_eq!(hrefs, ["https://x.example/pay", "tel:+441234", "#x"]);
    assert_eq!(got.links[0].text, "");
}

#[test]
fn attribute_values_in_any_quoting_style_are_read() {
    let got = html_to_text(
        "<a title='a > b' href = \"https://one.example/\" >1</a>\
         <a href='https://two.example/'>2</a><a href=https://three.example/>3</a>\
         <a href=\"\n https://four.exa\tmple/ \">4</a>",
    );
    let hrefs: Vec<_> = got.links.iter().map(|l| l.href.as_str()).collect();
    assert_eq!(
        hrefs,
        [
            "https://one.example/",
            "https://two.example/",
            "https://three.example/",
            "https://four.example/"
        ]
    );
}

#[test]
fn unclosed_and_nested_links_are_closed_like_browsers_do() {
    let got = html_to_text("<a href=https://a.example/>one<a href=https://b.example/>two");
    assert_eq!(got.links.len(), 2);
    assert_eq!(got.links[0].text, "one");
    assert_eq!(got.links[1].text, "two");
    assert_eq!(got.text, "one <https://a.example/>two <https://b.example/>");
}

#[test]
fn stray_angle_brackets_and_bogus_markup_are_tolerated() {
    assert_eq!(text("1 < 2 and 3 <= 4"), "1 < 2 and 3 <= 4");
    assert_eq!(
        text("a <?xml x?>b <!DOCTYPE html>c </ d> e</>f"),
        "a b c ef"
    );
    assert_eq!(text("<p>ok</p><div"), "ok");
    assert_eq!(text("ok <a href=\"unterminated"), "ok");
    assert_eq!(text("ok <!-- never closed"), "ok");
    assert_eq!(text("ok <script>never closed"), "ok");
    assert_eq!(text("x<!-->y<!--->z"), "xyz");
    assert_eq!(text("tail </"), "tail </");
    assert_eq!(text(""), "");
    assert_eq!(text("&"), "&");
    assert_eq!(text("<"), "<");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic fuzz: random mixes of markup fragments.
    let parts = [
        "<",
        ">",
        "&",
        "&#",
        "&#x",
        ";",
        "<a href=",
        "\"",
        "'",
        "</a>",
        "<td>",
        "<tr>",
        "<!--",
        "-->",
        "<script>",
        "</script",
        "<![CDATA[",
        "]]>",
        "é",
        "\u{200B}",
        "x",
        " ",
        "\n",
        "<pre>",
        "</pre>",
        "=",
        "/",
        "<br/>",
        "&pound",
        "<p",
        "€",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        let mut s = String::new();
        for _ in 0..40 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(parts[(seed % parts.len() as u64) as usize]);
        }
        let got = html_to_text(&s);
        assert!(got.text.len() <= s.len() * 4 + 64);
    }
}

#[test]
fn pathological_inputs_convert_in_linear_time() {
    let n = 200_000;
    let inputs = [
        "<".repeat(n),
        "<a".repeat(n),
        "<a href='x' ".repeat(n / 4),
        "&#".repeat(n),
        "&amp".repeat(n),
        "<!-".repeat(n),
        "</scrip".repeat(n),
        format!("<script>{}", "</scrip".repeat(n)),
        "<td>x".repeat(n),
        "<a href=https://e.example/>x".repeat(n / 4),
        "x ".repeat(n),
    ];
    let start = Instant::now();
    for input in &inputs {
        let _ = html_to_text(input);
    }
    // Quadratic behaviour on any of these would take minutes.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}
