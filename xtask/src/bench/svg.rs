//! A hand-written SVG chart of a report: throughput per server for every throughput
//! workload, server memory per idle connection, and chat events per CPU-second. Horizontal bars, one scale per
//! workload (figures of different workloads differ by orders of magnitude), the same
//! colour for a server everywhere. No dependencies: it is a few rectangles and labels.

use std::fmt::Write as _;

use super::Family;
use super::report::{Report, Status, WorkloadReport, group};

const WIDTH: f64 = 860.0;
const LABEL_W: f64 = 90.0;
const BAR_MAX: f64 = 600.0;
const BAR_H: f64 = 16.0;
const GAP: f64 = 5.0;

/// A fixed colour per server name; solo stands out.
fn colour(server: &str) -> &'static str {
    match server {
        "solo-server" => "#d62728",
        "solo-min" => "#e377c2",
        "solo-2shards" => "#ff7f0e",
        "tokio" => "#1f77b4",
        "smol" => "#2ca02c",
        "epoll" => "#7f7f7f",
        "uring" => "#17becf",
        "monoio" => "#bcbd22",
        "node" => "#9467bd",
        _ => "#8c564b",
    }
}

/// Escapes text for use inside an SVG element or attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the chart.
pub fn render(report: &Report) -> String {
    let mut body = String::new();
    let mut y = 30.0;
    let rounds = match report.rounds {
        1 => "1 round".to_string(),
        n => format!("medians of {n} rounds"),
    };
    let title = format!("solo bench ({} profile, {rounds})", report.profile);
    let _ = writeln!(
        body,
        r#"<text x="10" y="20" class="title">{}</text>"#,
        escape(&title)
    );
    let _ = writeln!(
        body,
        r#"<text x="10" y="{}" class="note">{}</text>"#,
        y + 4.0,
        escape(&report.machine.summary())
    );
    y += 20.0;
    let of = |family: Family| -> Vec<&WorkloadReport> {
        report
            .workloads
            .iter()
            .filter(|w| w.workload.family == family)
            .collect()
    };
    let idle = of(Family::Idle);
    let chat = of(Family::Chat);
    let busy: Vec<&WorkloadReport> = report
        .workloads
        .iter()
        .filter(|w| !matches!(w.workload.family, Family::Idle | Family::Chat))
        .collect();
    if !busy.is_empty() {
        y = section(&mut body, y, "Throughput (higher is better)");
        for w in busy {
            let unit = super::report::unit(w.workload.family);
            y = panel(&mut body, y, w, unit, |r| r.median.rate);
        }
    }
    if !chat.is_empty() {
        y = section(
            &mut body,
            y,
            "Chat fan-out at a fixed load: events per CPU-second of the server (higher is better)",
        );
        for w in chat {
            y = panel(&mut body, y, w, "events/CPU-s", |r| r.median.per_cpu_s);
        }
    }
    if !idle.is_empty() {
        y = section(
            &mut body,
            y,
            "Server memory per idle connection (lower is better)",
        );
        for w in idle {
            y = panel(&mut body, y, w, "bytes/conn", |r| r.median.bytes_per_conn);
        }
    }
    let height = y + 10.0;
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#,
            "\n<style>.title{{font-size:16px;font-weight:bold}} .section{{font-size:14px;font-weight:bold}} ",
            ".panel{{font-size:12px;font-weight:bold}} .label{{font-size:12px}} .value{{font-size:11px}} ",
            ".note{{font-size:11px;fill:#666}}</style>\n",
            r#"<rect width="100%" height="100%" fill="white"/>"#,
            "\n{body}</svg>\n"
        ),
        w = WIDTH,
        h = height,
        body = body
    )
}

fn section(body: &mut String, y: f64, title: &str) -> f64 {
    let _ = writeln!(
        body,
        r#"<text x="10" y="{}" class="section">{}</text>"#,
        y + 14.0,
        escape(title)
    );
    y + 24.0
}

fn panel(
    body: &mut String,
    mut y: f64,
    w: &WorkloadReport,
    unit: &str,
    value: impl Fn(&super::report::ServerResult) -> Option<f64>,
) -> f64 {
    let heading = format!("{} — {} ({unit})", w.workload.id, w.workload.description);
    let _ = writeln!(
        body,
        r#"<text x="10" y="{}" class="panel">{}</text>"#,
        y + 12.0,
        escape(&heading)
    );
    y += 18.0;
    let max = w.results.iter().filter_map(&value).fold(0.0f64, f64::max);
    for r in &w.results {
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" class="label" text-anchor="end">{}</text>"#,
            LABEL_W - 6.0,
            y + BAR_H - 4.0,
            escape(&r.server)
        );
        match value(r).filter(|_| r.status == Status::Ok) {
            Some(v) if max > 0.0 => {
                let len = (v / max * BAR_MAX).max(1.0);
                let _ = writeln!(
                    body,
                    r#"<rect x="{LABEL_W}" y="{y}" width="{len:.1}" height="{BAR_H}" fill="{}"><title>{}: {}</title></rect>"#,
                    colour(&r.server),
                    escape(&r.server),
                    group(v)
                );
                let _ = writeln!(
                    body,
                    r#"<text x="{:.1}" y="{}" class="value">{}</text>"#,
                    LABEL_W + len + 4.0,
                    y + BAR_H - 4.0,
                    group(v)
                );
            }
            _ => {
                let why = match r.status {
                    Status::Ok => "no figure",
                    Status::Unavailable => "unavailable",
                    Status::Failed => "failed",
                };
                let _ = writeln!(
                    body,
                    r#"<text x="{LABEL_W}" y="{}" class="note">{why}</text>"#,
                    y + BAR_H - 4.0
                );
            }
        }
        y += BAR_H + GAP;
    }
    y + 10.0
}

#[cfg(test)]
mod tests {
    use super::super::Workload;
    use super::super::report::{Ratios, Sample, ServerResult, Summary};
    use super::super::sysinfo::Machine;
    use super::*;

    fn result(server: &str, status: Status, rate: Option<f64>) -> ServerResult {
        let samples = vec![Sample {
            rate,
            ..Default::default()
        }];
        ServerResult {
            server: server.into(),
            status,
            reason: None,
            median: Summary::of(&samples),
            ratio: Ratios::default(),
            samples,
        }
    }

    fn report() -> Report {
        let w = Workload {
            id: "http-c100".into(),
            family: Family::Http,
            conns: 100,
            depth: 1,
            size: 0,
            rate: 0.0,
            description: "HTTP <keep-alive> & friends".into(),
        };
        let results = vec![
            result("solo", Status::Unavailable, None),
            result("tokio", Status::Ok, Some(200_000.0)),
            result("epoll", Status::Ok, Some(100_000.0)),
        ];
        Report {
            schema: 1,
            command: String::new(),
            profile: "smoke".into(),
            rounds: 1,
            warmup_ms: 0,
            duration_ms: 0,
            started_unix: 0,
            elapsed_s: 0.0,
            machine: Machine::default(),
            servers: vec![],
            workloads: vec![WorkloadReport::new(w, results, &["solo"])],
            micro: None,
            notes: vec![],
        }
    }

    #[test]
    fn renders_bars_scaled_to_the_largest() {
        let svg = render(&report());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains(r##"width="600.0" height="16" fill="#1f77b4""##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"width="300.0" height="16" fill="#7f7f7f""##),
            "{svg}"
        );
        assert!(svg.contains("200,000") && svg.contains(">unavailable<"));
        assert!(svg.contains("HTTP &lt;keep-alive&gt; &amp; friends"));
        assert!(
            !svg.contains("bytes/conn"),
            "no idle section without idle workloads"
        );
        assert_eq!(
            svg.matches("<rect").count(),
            svg.matches("</rect>").count() + 1
        );
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }

    #[test]
    fn chat_panels_compare_events_per_cpu_second() {
        let mut r = report();
        let mut w = r.workloads[0].workload.clone();
        w.id = "chat-1000".into();
        w.family = Family::Chat;
        let per_cpu = |server: &str, status, v: Option<f64>| {
            let samples = vec![Sample {
                rate: Some(50_000.0),
                per_cpu_s: v,
                ..Default::default()
            }];
            ServerResult {
                server: server.into(),
                status,
                reason: None,
                median: Summary::of(&samples),
                ratio: Ratios::default(),
                samples,
            }
        };
        let results = vec![
            per_cpu("solo-server", Status::Ok, Some(200_000.0)),
            per_cpu("solo-2shards", Status::Failed, None),
            per_cpu("node", Status::Ok, Some(100_000.0)),
        ];
        r.workloads = vec![WorkloadReport::new(w, results, &["solo-server"])];
        let svg = render(&r);
        assert!(svg.contains("Chat fan-out") && svg.contains("(events/CPU-s)"));
        assert!(
            !svg.contains("Throughput (higher"),
            "no throughput section for chat alone"
        );
        assert!(
            svg.contains(r##"width="600.0" height="16" fill="#d62728""##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"width="300.0" height="16" fill="#9467bd""##),
            "{svg}"
        );
        assert!(svg.contains(">failed<"));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"a<b>&"c"'"#), "a&lt;b&gt;&amp;&quot;c&quot;&apos;");
    }
}
