use super::*;

#[test]
fn names_follow_the_prometheus_grammar() {
    assert!(is_metric_name(b"a:b_1"));
    assert!(!is_metric_name(b"1a"));
    assert!(!is_metric_name(b""));
    assert!(is_label_name(b"_x1"));
    assert!(!is_label_name(b"a:b"));
    assert!(!is_label_name("é".as_bytes()));
}

#[test]
fn exemplars_follow_their_sample_in_openmetrics_only_and_in_every_part() {
    let mut exposition = Exposition::default();
    exposition.push_family(b"jobs", Kind::Counter, b"");
    exposition.push_label(b"q", b"a");
    exposition.push_sample(b"jobs_total", true, 2.0);
    exposition.push_exemplar(&[(b"trace_id", b"x\"y")], 1.5, 1_700_000_000.000_5);
    exposition.push_label(b"q", b"b");
    exposition.push_sample(b"jobs_total", true, 1.0);
    let open_metrics: &[u8] = b"# TYPE jobs counter\n\
        jobs_total{q=\"a\"} 2 # {trace_id=\"x\\\"y\"} 1.5 1700000000.000\n\
        jobs_total{q=\"b\"} 1\n# EOF\n";
    assert_eq!(exposition.encode(Format::OpenMetrics), open_metrics);
    assert_eq!(
        exposition.encode(Format::Text),
        b"# TYPE jobs_total counter\njobs_total{q=\"a\"} 2\njobs_total{q=\"b\"} 1\n"
    );
    let mut parts = Vec::new();
    for part in exposition.split(2) {
        exposition.encode_part_into(&mut parts, Format::OpenMetrics, part);
    }
    assert_eq!(parts, open_metrics);
}

#[test]
fn counters_carry_total_in_text_headers_only() {
    let mut exposition = Exposition::default();
    exposition.push_family(b"jobs", Kind::Counter, b"Jobs \"done\"\n");
    exposition.push_label(b"q", b"a\\b");
    exposition.push_sample(b"jobs_total", true, 1.0);
    let rendered = b"q=\"a\\\\b\"";
    exposition.push_rendered_labels(rendered);
    exposition.push_sample(b"jobs_total", true, 2.0);
    assert_eq!(
        exposition.encode(Format::Text),
        b"# HELP jobs_total Jobs \"done\"\\n\n# TYPE jobs_total counter\n\
          jobs_total{q=\"a\\\\b\"} 1\njobs_total{q=\"a\\\\b\"} 2\n"
    );
    assert_eq!(
        exposition.encode(Format::OpenMetrics),
        b"# HELP jobs Jobs \\\"done\\\"\\n\n# TYPE jobs counter\n\
          jobs_total{q=\"a\\\\b\"} 1\njobs_total{q=\"a\\\\b\"} 2\n# EOF\n"
    );
}

fn families_with_gaps() -> Exposition {
    let mut exposition = Exposition::default();
    exposition.push_family(b"empty_first", Kind::Gauge, b"");
    exposition.push_family(b"a", Kind::Counter, b"A");
    for value in [1.0, 2.0, 3.0] {
        exposition.push_label(b"n", format!("{value}").as_bytes());
        exposition.push_sample(b"a_total", true, value);
    }
    exposition.push_family(b"empty_middle", Kind::Gauge, b"B");
    exposition.push_family(b"c", Kind::Gauge, b"");
    exposition.push_sample(b"c", false, 4.0);
    exposition.push_sample(b"c", false, 5.0);
    exposition.push_family(b"empty_last", Kind::Gauge, b"D");
    exposition
}

#[test]
fn parts_at_any_boundaries_make_the_whole() {
    let exposition = families_with_gaps();
    let n = exposition.len();
    for format in [Format::Text, Format::OpenMetrics] {
        let whole = exposition.encode(format);
        for a in 0..=n {
            for b in a..=n {
                let mut parts = Vec::new();
                // Empty parts are not parts: `split` makes none.
                for range in [0..a, a..b, b..n].into_iter().filter(|r| !r.is_empty()) {
                    exposition.encode_part_into(&mut parts, format, range);
                }
                assert_eq!(parts, whole, "{format:?} split at {a} and {b}");
            }
        }
    }
}

#[test]
fn split_covers_every_sample_once() {
    let exposition = families_with_gaps();
    for count in 1..8 {
        let ranges = exposition.split(count);
        assert_eq!(ranges.len(), count.min(exposition.len()));
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[ranges.len() - 1].end, exposition.len());
        assert!(ranges
            .windows(2)
            .all(|w| w[0].end == w[1].start && !w[0].is_empty()));
    }
    let none = Exposition::default();
    assert_eq!(none.split(4), vec![0..0]);
    let mut only_families = Exposition::default();
    only_families.push_family(b"x", Kind::Gauge, b"");
    let mut out = Vec::new();
    only_families.encode_part_into(
        &mut out,
        Format::OpenMetrics,
        only_families.split(3)[0].clone(),
    );
    assert_eq!(out, b"# TYPE x gauge\n# EOF\n");
}
