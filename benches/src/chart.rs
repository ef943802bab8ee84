//! The SVG chart of the small-file archive: files per second against concurrency, for the
//! flow, its ideal and the one-at-a-time script baseline.

use plotters::prelude::*;

use crate::Result;

/// A line's points: (concurrency, files per second).
type Series = Vec<(f64, f64)>;

/// One point per concurrency level.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// Concurrency.
    pub concurrency: usize,
    /// The flow's files per second.
    pub ours: f64,
    /// The ideal for that concurrency and the flow's requests per file.
    pub ideal: f64,
}

/// Draws the chart as an SVG document. `baseline` (files/s of the script) is drawn flat: the
/// script has no concurrency.
pub fn archive_svg(points: &[Point], baseline: f64, latency_ms: u64) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| format!("chart: {e}"))?;
        let max_x = points.iter().map(|p| p.concurrency).max().unwrap_or(1) as f64;
        let max_y = points
            .iter()
            .flat_map(|p| [p.ours, p.ideal])
            .chain([baseline])
            .fold(1.0_f64, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Small-file archive, {latency_ms} ms per request"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_x * 1.05, 0.0..max_y)
            .map_err(|e| format!("chart: {e}"))?;
        chart
            .configure_mesh()
            .x_desc("concurrency")
            .y_desc("files per second")
            .draw()
            .map_err(|e| format!("chart: {e}"))?;
        let series = |f: fn(&Point) -> f64| -> Vec<(f64, f64)> {
            points
                .iter()
                .map(|p| (p.concurrency as f64, f(p)))
                .collect()
        };
        let lines: [(&str, Series, RGBColor); 3] = [
            ("ideal", series(|p| p.ideal), RGBColor(150, 150, 150)),
            (
                "archive_on_approval",
                series(|p| p.ours),
                RGBColor(31, 119, 180),
            ),
            (
                "script baseline (one at a time)",
                vec![(0.0, baseline), (max_x * 1.05, baseline)],
                RGBColor(214, 39, 40),
            ),
        ];
        for (label, data, color) in lines {
            let style = ShapeStyle::from(&color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(data.clone(), style))
                .map_err(|e| format!("chart: {e}"))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            if label != "script baseline (one at a time)" {
                chart
                    .draw_series(data.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| format!("chart: {e}"))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| format!("chart: {e}"))?;
        root.present().map_err(|e| format!("chart: {e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_series() {
        let points = [
            Point {
                concurrency: 1,
                ours: 5.0,
                ideal: 6.0,
            },
            Point {
                concurrency: 4,
                ours: 18.0,
                ideal: 24.0,
            },
        ];
        let svg = archive_svg(&points, 8.0, 20).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("script baseline"));
        assert!(svg.contains("archive_on_approval"));
    }
}
