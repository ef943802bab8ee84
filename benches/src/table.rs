//! The harness's one table: measure, figure, limit or baseline, ratio, goal, met?

use serde::Serialize;

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What is measured, with its setup (`small-file archive, c=16`).
    pub measure: String,
    /// The figure, with its unit (`612 files/s`).
    pub figure: String,
    /// The limit or baseline it is compared with, measured in the same run, with its unit.
    pub reference: String,
    /// figure ÷ reference (or reference ÷ figure where lower is better, as the goal says);
    /// `None` when nothing was measured.
    pub ratio: Option<f64>,
    /// The goal, in words (`≥ 0.80 of the ideal`), or `—`.
    pub goal: String,
    /// Whether the goal is met; `None` when there is no goal or no figure.
    pub met: Option<bool>,
}

impl Row {
    /// A row with a figure, its reference and their ratio.
    pub fn new(
        measure: impl Into<String>,
        figure: impl Into<String>,
        reference: impl Into<String>,
        ratio: f64,
    ) -> Row {
        Row {
            measure: measure.into(),
            figure: figure.into(),
            reference: reference.into(),
            ratio: Some(ratio),
            goal: "—".into(),
            met: None,
        }
    }

    /// A row whose figure could not be measured, with the reason as its figure.
    pub fn not_measured(measure: impl Into<String>, why: impl Into<String>, goal: &str) -> Row {
        Row {
            measure: measure.into(),
            figure: format!("not measured: {}", why.into()),
            reference: "—".into(),
            ratio: None,
            goal: goal.into(),
            met: None,
        }
    }

    /// Sets the goal: met when the ratio is at least `min`.
    pub fn at_least(mut self, min: f64, goal: impl Into<String>) -> Row {
        self.goal = goal.into();
        self.met = self.ratio.map(|r| r >= min);
        self
    }

    /// Sets a goal on a raw value rather than the ratio: met when `value <= max`.
    pub fn value_at_most(mut self, value: f64, max: f64, goal: impl Into<String>) -> Row {
        self.goal = goal.into();
        self.met = Some(value <= max);
        self
    }
}

/// A rate for the table: `612 files/s`, `7.2 files/s`.
pub fn per_sec(x: f64, unit: &str) -> String {
    if x >= 100.0 {
        format!("{x:.0} {unit}/s")
    } else {
        format!("{x:.1} {unit}/s")
    }
}

/// Formats a ratio for the table.
fn ratio_text(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 100.0 => format!("{r:.0}×"),
        Some(r) if r >= 0.01 => format!("{r:.2}"),
        Some(r) => format!("{r:.4}"),
        None => "—".into(),
    }
}

fn met_text(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "—",
    }
}

const HEADERS: [&str; 6] = [
    "measure",
    "figure",
    "limit or baseline",
    "ratio",
    "goal",
    "met?",
];

fn cells(row: &Row) -> [String; 6] {
    [
        row.measure.clone(),
        row.figure.clone(),
        row.reference.clone(),
        ratio_text(row.ratio),
        row.goal.clone(),
        met_text(row.met).to_owned(),
    ]
}

/// The table as aligned plain text, for the terminal.
pub fn text(rows: &[Row]) -> String {
    let all: Vec<[String; 6]> = rows.iter().map(cells).collect();
    let mut width = HEADERS.map(|h| h.chars().count());
    for r in &all {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i] - c.chars().count();
            out.push_str(c);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&HEADERS.map(String::from));
    out.push_str(&line(&width.map(|w| "-".repeat(w))));
    for r in &all {
        out.push_str(&line(r));
    }
    out
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str(&format!("|{}\n", " --- |".repeat(HEADERS.len())));
    for r in rows {
        let c = cells(r).map(|c| c.replace('|', "\\|"));
        out.push_str(&format!("| {} |\n", c.join(" | ")));
    }
    out
}

/// The table as JSON: `{"quick": bool, "rows": [...], "details": ...}` (ratios as numbers,
/// `null` when not measured; `details` holds what the harness adds, e.g. requests per route).
pub fn json(rows: &[Row], quick: bool, details: serde_json::Value) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "quick": quick,
        "rows": rows,
        "details": details,
    }))
    .expect("rows serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_and_renderings() {
        let rows = vec![
            Row::new("a", "90 MB/s", "100 MB/s", 0.9).at_least(0.9, "≥ 0.90"),
            Row::new("b", "5 req/file", "4 req/file", 0.8).value_at_most(5.0, 4.0, "≤ 4"),
            Row::not_measured("c", "flow not built (issue 12)", "≤ 20 requests"),
        ];
        assert_eq!(rows[0].met, Some(true));
        assert_eq!(rows[1].met, Some(false));
        let t = text(&rows);
        assert!(t.lines().nth(4).unwrap().starts_with("c  "), "{t}");
        assert!(t.contains("not measured: flow not built (issue 12)"));
        let md = markdown(&rows);
        assert_eq!(md.lines().count(), 5);
        assert!(
            md.contains("| b | 5 req/file | 4 req/file | 0.80 | ≤ 4 | NO |"),
            "{md}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&json(&rows, true, serde_json::Value::Null)).unwrap();
        assert_eq!(v["rows"][2]["ratio"], serde_json::Value::Null);
        assert_eq!(v["rows"][0]["met"], true);
    }
}
