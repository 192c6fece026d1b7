//! The reports' charts as inline SVG drawn on the server: no script, readable in print, and
//! every label is text the page's language gave. Only numbers and escaped text go in.

use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round upper bound for an axis (1, 2, 5 × 10ⁿ).
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

/// Seconds as the charts show them: "45 с", "12 мин", "3,5 ч" (units from the caller).
pub fn short_duration(secs: f64, units: [&str; 3]) -> String {
    if secs < 60.0 {
        format!("{:.0} {}", secs, units[0])
    } else if secs < 3600.0 {
        format!("{:.0} {}", secs / 60.0, units[1])
    } else {
        format!("{:.1} {}", secs / 3600.0, units[2])
    }
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

fn open(svg: &mut String, title: &str, h: f64) {
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
}

fn axis(svg: &mut String, max: f64, label: &dyn Fn(f64) -> String) {
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + (H - TOP - BOTTOM) * (1.0 - f64::from(i) / 4.0);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{W}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{x:.1}" y="{ty:.1}" font-size="10" text-anchor="end" fill="#667">{l}</text>"##,
            x = LEFT - 4.0,
            ty = y + 3.0,
            l = esc(&label(v)),
        );
    }
}

/// Which x labels to print so they do not overlap.
fn every(n: usize) -> usize {
    n.div_ceil(12).max(1)
}

/// Two series of bars per day (opened, closed), with a legend.
pub fn day_bars(title: &str, labels: &[String], series: [(&str, &[i64]); 2]) -> String {
    let mut svg = String::new();
    open(&mut svg, title, H);
    let max = nice_max(
        series
            .iter()
            .flat_map(|(_, v)| v.iter())
            .copied()
            .max()
            .unwrap_or(0) as f64,
    );
    axis(&mut svg, max, &|v| format!("{v:.0}"));
    let n = labels.len().max(1);
    let slot = (W - LEFT) / n as f64;
    let bar = (slot * 0.8 / 2.0).max(1.0);
    let colours = ["#3b82f6", "#10b981"];
    let plot = H - TOP - BOTTOM;
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + slot * 0.1;
        for (k, (name, values)) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0) as f64;
            let h = plot * v / max;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{c}"><title>{l}: {name} {v}</title></rect>"#,
                x = x0 + bar * k as f64,
                y = TOP + plot - h,
                c = colours[k],
                l = esc(label),
                name = esc(name),
            );
        }
        if i % every(n) == 0 {
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{y}" font-size="10" text-anchor="middle" fill="#667">{l}</text>"##,
                x = x0 + bar,
                y = H - 10.0,
                l = esc(label),
            );
        }
    }
    legend(
        &mut svg,
        &[(series[0].0, colours[0]), (series[1].0, colours[1])],
    );
    svg.push_str("</svg>");
    svg
}

fn legend(svg: &mut String, items: &[(&str, &str)]) {
    let mut x = LEFT + 8.0;
    for (name, colour) in items {
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="2" width="10" height="10" fill="{colour}"/><text x="{tx:.1}" y="11" font-size="11" fill="#334">{n}</text>"##,
            tx = x + 14.0,
            n = esc(name),
        );
        x += 24.0 + name.chars().count() as f64 * 6.5;
    }
}

/// A line of durations per day (days without a value leave a gap).
pub fn day_line(
    title: &str,
    labels: &[String],
    values: &[Option<i64>],
    units: [&str; 3],
) -> String {
    let mut svg = String::new();
    open(&mut svg, title, H);
    // At least a minute high: below that the ticks would round to the same second.
    let max = nice_max(values.iter().flatten().copied().max().unwrap_or(0) as f64).max(60.0);
    axis(&mut svg, max, &|v| short_duration(v, units));
    let n = labels.len().max(1);
    let slot = (W - LEFT) / n as f64;
    let plot = H - TOP - BOTTOM;
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        let x = LEFT + slot * (i as f64 + 0.5);
        match v {
            Some(v) => {
                let y = TOP + plot * (1.0 - *v as f64 / max);
                let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
                let _ = write!(
                    svg,
                    r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#f59e0b"><title>{l}: {d}</title></circle>"##,
                    l = esc(&labels[i]),
                    d = esc(&short_duration(*v as f64, units)),
                );
            }
            None => pen_down = false,
        }
        if i % every(n) == 0 {
            let _ = write!(
                svg,
                r##"<text x="{x:.1}" y="{y}" font-size="10" text-anchor="middle" fill="#667">{l}</text>"##,
                y = H - 10.0,
                l = esc(&labels[i]),
            );
        }
    }
    let _ = write!(
        svg,
        r##"<path d="{p}" fill="none" stroke="#f59e0b" stroke-width="2"/>"##,
        p = path.trim_end()
    );
    svg.push_str("</svg>");
    svg
}

/// Ratings 5 down to 1 as horizontal bars with their counts.
pub fn ratings(title: &str, counts: &[i64; 5]) -> String {
    let h = 150.0;
    let mut svg = String::new();
    open(&mut svg, title, h);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let colours = ["#ef4444", "#f97316", "#eab308", "#84cc16", "#22c55e"];
    for (row, stars) in (1..=5).rev().enumerate() {
        let c = counts[stars - 1];
        let y = 8.0 + row as f64 * 27.0;
        let w = (W - 140.0) * c as f64 / max;
        let _ = write!(
            svg,
            r##"<text x="40" y="{ty:.1}" font-size="12" text-anchor="end" fill="#334">{stars} ★</text><rect x="48" y="{y:.1}" width="{w:.1}" height="18" fill="{col}"/><text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="#334">{c}</text>"##,
            ty = y + 13.0,
            tx = 54.0 + w,
            col = colours[stars - 1],
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Weekday × hour: the busier, the darker.
pub fn heatmap(title: &str, days: &[&str; 7], cells: &[[i64; 24]; 7]) -> String {
    let (cw, ch, left, top) = (26.0, 20.0, 40.0, 16.0);
    let h = top + ch * 7.0 + 4.0;
    let mut svg = String::new();
    open(&mut svg, title, h);
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    for hour in (0..24).step_by(3) {
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="11" font-size="10" fill="#667">{hour:02}</text>"##,
            x = left + cw * f64::from(hour),
        );
    }
    for (d, row) in cells.iter().enumerate() {
        let y = top + ch * d as f64;
        let _ = write!(
            svg,
            r##"<text x="{x}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#334">{l}</text>"##,
            x = left - 6.0,
            ty = y + 14.0,
            l = esc(days[d]),
        );
        for (hour, v) in row.iter().enumerate() {
            let a = if *v == 0 {
                0.04
            } else {
                0.15 + 0.85 * *v as f64 / max
            };
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{hh:.1}" fill="#3b82f6" fill-opacity="{a:.2}"><title>{l} {hour:02}:00 — {v}</title></rect>"##,
                x = left + cw * hour as f64,
                w = cw - 2.0,
                hh = ch - 2.0,
                l = esc(days[d]),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_and_labels_are_escaped() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        let svg = day_bars(
            "<b>",
            &["1 дек".to_string()],
            [("открыто", &[3]), ("закрыто", &[1])],
        );
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert_eq!(short_duration(300.0, ["с", "мин", "ч"]), "5 мин");
    }
}
