//! Drawing figures 2 (Gram heatmaps) and 3 (PCA plane) from a [`FinalGeometry`].

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::geometry::FinalGeometry;
use super::plot::{self, draw_legend, draw_marker, Figure, LegendEntry, Marker, SeriesStyle};
use super::svg::Marks;

/// Class names are written on the axes up to this many classes (beyond, the cells are too small).
const MAX_NAMED: usize = 24;

/// A sequential colour map with monotone lightness (anchors of viridis), so that the order of
/// values survives greyscale printing. `t` in `[0, 1]`.
pub fn colour_map(t: f64) -> RGBColor {
    const ANCHORS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (ANCHORS.len() - 1) as f64;
    let i = (x.floor() as usize).min(ANCHORS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let mix = |p: f64, q: f64| (p + f * (q - p)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Figure 2: the cosine matrices side by side on a common scale [-1, 1].
pub struct GramFigure {
    pub title: String,
    pub names: Vec<String>,
    pub k: usize,
    pub panels: Vec<(String, Vec<f64>)>,
}

impl GramFigure {
    /// Rows and columns follow `geo.order` (tree order when there is a hierarchy).
    pub fn new(title: String, geo: &FinalGeometry) -> GramFigure {
        let k = geo.k;
        let permute = |m: &[f64]| -> Vec<f64> {
            let mut out = Vec::with_capacity(k * k);
            for &i in &geo.order {
                for &j in &geo.order {
                    out.push(m[i * k + j]);
                }
            }
            out
        };
        let mut panels = vec![
            (
                "Observed: cos of centred means".to_string(),
                permute(&geo.cosines),
            ),
            ("Simplex ETF".to_string(), permute(&geo.etf)),
        ];
        if let Some(t) = &geo.target {
            panels.push(("Hierarchy target T".to_string(), permute(t)));
        }
        GramFigure {
            title,
            names: geo
                .order
                .iter()
                .map(|&i| geo.class_names[i].clone())
                .collect(),
            k,
            panels,
        }
    }

    fn label_space(&self) -> i32 {
        if self.k > MAX_NAMED {
            return 10;
        }
        let longest = self
            .names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(1);
        (longest as i32 * 8 + 12).min(130)
    }
}

const PANEL: i32 = 380;

/// The top of the Gram panels, below the figure's title and the panel titles.
const GRAM_TOP: i32 = 80;

impl GramFigure {
    /// The side of one matrix cell in pixels.
    fn cell_size(&self) -> i32 {
        PANEL / (self.k as i32).max(1)
    }

    /// The side of one panel in pixels: a whole number of cells.
    fn side(&self) -> i32 {
        self.cell_size() * self.k as i32
    }

    /// One panel: its title, the matrix `m` (rows and columns in figure order) with its left
    /// edge at `x0`, a frame, and the class names (or how many classes there are).
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
        x0: i32,
        title: &str,
        m: &[f64],
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let k = self.k as i32;
        let side = self.side();
        root.draw_text(
            title,
            &plot::text(16.0).pos(Pos::new(HPos::Center, VPos::Bottom)),
            (x0 + side / 2, GRAM_TOP - 8),
        )?;
        for i in 0..k {
            for j in 0..k {
                self.draw_cell(root, marks, x0, title, (i, j), m[(i * k + j) as usize])?;
            }
        }
        root.draw(&Rectangle::new(
            [(x0, GRAM_TOP), (x0 + side, GRAM_TOP + side)],
            BLACK.stroke_width(1),
        ))?;
        self.draw_class_names(root, x0)
    }

    /// One matrix cell `(i, j)` of value `v`: its colour, a hover title when the classes are
    /// named, and the value written in it when the cells are large.
    fn draw_cell<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
        x0: i32,
        title: &str,
        (i, j): (i32, i32),
        v: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let cell = self.cell_size();
        let (cx, cy) = (x0 + j * cell, GRAM_TOP + i * cell);
        root.draw(&Rectangle::new(
            [(cx, cy), (cx + cell, cy + cell)],
            colour_map((v + 1.0) / 2.0).filled(),
        ))?;
        if self.k <= MAX_NAMED {
            marks.hover(
                (cx + cell / 2, cy + cell / 2),
                (cell / 2).max(1) as u32,
                &format!(
                    "{}: {} vs {}: {v:.4}",
                    title, self.names[i as usize], self.names[j as usize]
                ),
            );
        }
        if self.k <= 10 && cell >= 30 {
            let ink = if (v + 1.0) / 2.0 > 0.6 { BLACK } else { WHITE };
            root.draw_text(
                &format!("{v:.2}"),
                &plot::text(11.0)
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
                (cx + cell / 2, cy + cell / 2),
            )?;
        }
        Ok(())
    }

    /// The class names left of the rows and under the columns of the panel at `x0`, up to
    /// [`MAX_NAMED`] classes; beyond, how many classes there are.
    fn draw_class_names<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x0: i32,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (cell, side) = (self.cell_size(), self.side());
        if self.k > MAX_NAMED {
            return root.draw_text(
                &format!("{} classes (names omitted)", self.k),
                &plot::text(13.0).pos(Pos::new(HPos::Center, VPos::Top)),
                (x0 + side / 2, GRAM_TOP + side + 6),
            );
        }
        let name_style = plot::text(if cell >= 24 { 13.0 } else { 10.0 });
        for (i, name) in self.names.iter().enumerate() {
            let c = i as i32 * cell + cell / 2;
            root.draw_text(
                name,
                &name_style.pos(Pos::new(HPos::Right, VPos::Center)),
                (x0 - 4, GRAM_TOP + c),
            )?;
            root.draw_text(
                name,
                &name_style
                    .transform(FontTransform::Rotate90)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
                (x0 + c, GRAM_TOP + side + 4),
            )?;
        }
        Ok(())
    }

    /// The colour bar at the right edge: the colour map over [-1, 1], framed and labelled.
    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (top, side) = (GRAM_TOP, self.side());
        let bx = self.size().0 as i32 - 95;
        let steps = 100;
        for s in 0..steps {
            let t = 1.0 - s as f64 / steps as f64;
            let y = top + s * side / steps;
            root.draw(&Rectangle::new(
                [(bx, y), (bx + 20, top + (s + 1) * side / steps)],
                colour_map(t).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(bx, top), (bx + 20, top + side)],
            BLACK.stroke_width(1),
        ))?;
        for (v, label) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (0.0, "0"),
            (-0.5, "−0.5"),
            (-1.0, "−1"),
        ] {
            let y = top + ((1.0 - (v + 1.0) / 2.0) * side as f64) as i32;
            root.draw_text(
                label,
                &plot::text(13.0).pos(Pos::new(HPos::Left, VPos::Center)),
                (bx + 26, y),
            )?;
        }
        root.draw_text(
            "cosine",
            &plot::text(14.0).pos(Pos::new(HPos::Center, VPos::Bottom)),
            (bx + 10, top - 8),
        )
    }
}

impl Figure for GramFigure {
    fn size(&self) -> (u32, u32) {
        let lab = self.label_space();
        let side = PANEL / (self.k as i32).max(1) * self.k as i32;
        let w = self.panels.len() as i32 * (PANEL + lab + 30) + 130;
        (w as u32, (side + lab + 110) as u32)
    }

    /// The title, the panels side by side, and the colour bar.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let lab = self.label_space();
        let centred = plot::text(22.0).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw_text(&self.title, &centred, (self.size().0 as i32 / 2, 8))?;
        for (p, (title, m)) in self.panels.iter().enumerate() {
            let x0 = 20 + p as i32 * (PANEL + lab + 30) + lab;
            self.draw_panel(root, marks, x0, title, m)?;
        }
        self.draw_colour_bar(root)
    }
}

/// Figure 3: centred class means and classifier rows on the first two principal axes.
pub struct PcaFigure {
    pub title: String,
    pub names: Vec<String>,
    pub means: Vec<(f64, f64)>,
    pub weights: Option<Vec<(f64, f64)>>,
    pub explained: (f64, f64),
}

impl PcaFigure {
    pub fn new(title: String, geo: &FinalGeometry) -> PcaFigure {
        PcaFigure {
            title,
            names: geo.class_names.clone(),
            means: geo.means_2d.clone(),
            weights: geo.weights_2d.clone(),
            explained: geo.explained,
        }
    }
}

const MEAN_STYLE: SeriesStyle = SeriesStyle {
    colour: RGBColor(0, 0, 0),
    marker: Marker::Circle,
    dash: None,
};
const WEIGHT_STYLE: SeriesStyle = SeriesStyle {
    colour: RGBColor(213, 94, 0),
    marker: Marker::Triangle,
    dash: Some((6, 4)),
};

/// Estimated width in pixels of `text` in the embedded font at `size` pixels (DejaVu Sans
/// averages about 0.6 em per character).
pub fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size * 0.62).ceil() as i32
}

/// Places labels of sizes `sizes` (width, height) near their `anchors` (pixel points) so that
/// they overlap neither each other nor any anchor's marker, inside `bounds` (x0, y0, x1, y1)
/// where possible: each label in turn takes the first free position among 8 around its point
/// (right, left, above, below and the diagonals), tried at growing distances; when none is
/// free, the position overlapping least. Returns each label's top-left corner.
pub fn place_labels(
    anchors: &[(i32, i32)],
    sizes: &[(i32, i32)],
    bounds: (i32, i32, i32, i32),
) -> Vec<(i32, i32)> {
    type Box4 = (i32, i32, i32, i32);
    let overlap = |a: Box4, b: Box4| -> i64 {
        let w = (a.2.min(b.2) - a.0.max(b.0)).max(0) as i64;
        let h = (a.3.min(b.3) - a.1.max(b.1)).max(0) as i64;
        w * h
    };
    let markers: Vec<Box4> = anchors
        .iter()
        .map(|&(x, y)| (x - 6, y - 6, x + 6, y + 6))
        .collect();
    let mut placed: Vec<Box4> = Vec::new();
    let mut out = Vec::new();
    for (&(ax, ay), &(w, h)) in anchors.iter().zip(sizes) {
        let mut best: Option<(i64, (i32, i32))> = None;
        'search: for step in 1..=6 {
            let d = 4 + 8 * (step - 1);
            let candidates = [
                (ax + 6 + d, ay - h / 2),
                (ax - 6 - d - w, ay - h / 2),
                (ax - w / 2, ay - 6 - d - h),
                (ax - w / 2, ay + 6 + d),
                (ax + 4 + d, ay - 4 - d - h),
                (ax + 4 + d, ay + 4 + d),
                (ax - 4 - d - w, ay - 4 - d - h),
                (ax - 4 - d - w, ay + 4 + d),
            ];
            for (x, y) in candidates {
                let b = (x, y, x + w, y + h);
                let outside = (bounds.0 - b.0).max(0)
                    + (b.2 - bounds.2).max(0)
                    + (bounds.1 - b.1).max(0)
                    + (b.3 - bounds.3).max(0);
                let cost: i64 = placed
                    .iter()
                    .chain(&markers)
                    .map(|&o| overlap(b, o))
                    .sum::<i64>()
                    + 1000 * outside as i64
                    + step as i64;
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, (x, y)));
                }
                if cost == step as i64 {
                    break 'search;
                }
            }
        }
        let (_, (x, y)) = best.expect("candidates");
        placed.push((x, y, x + w, y + h));
        out.push((x, y));
    }
    out
}

impl PcaFigure {
    /// Half the side of the square plotted: the largest coordinate of any point, plus a
    /// quarter.
    fn extent(&self) -> f64 {
        self.means
            .iter()
            .chain(self.weights.iter().flatten())
            .map(|p| p.0.abs().max(p.1.abs()))
            .fold(0.0, f64::max)
            .max(1e-12)
            * 1.25
    }

    /// The grid, tick labels and axis descriptions (each axis with its share of tr M Mᵀ).
    fn draw_mesh<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        r: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        chart
            .configure_mesh()
            .x_label_formatter(&|v| plot::tick_label(*v, 2.0 * r))
            .y_label_formatter(&|v| plot::tick_label(*v, 2.0 * r))
            .max_light_lines(1)
            .x_desc(format!(
                "PC 1 ({:.0}% of tr M Mᵀ), normalised units",
                100.0 * self.explained.0
            ))
            .y_desc(format!(
                "PC 2 ({:.0}% of tr M Mᵀ), normalised units",
                100.0 * self.explained.1
            ))
            .label_style(plot::text(14.0))
            .axis_desc_style(plot::text(15.0))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
    }

    /// One vector per class from the origin to its pixel in `pixels` (class order), in `style`,
    /// with a hover title `<what> of <class>`.
    fn draw_vectors<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &Marks,
        origin: (i32, i32),
        pixels: &[(i32, i32)],
        (style, what): (&SeriesStyle, &str),
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for (i, &q) in pixels.iter().enumerate() {
            plot::draw_line(area, &[origin, q], style, 1, marks)?;
            draw_marker(area, q, style.marker, style.colour, 5)?;
            marks.hover(q, 6, &format!("{what} of {}", self.names[i]));
        }
        Ok(())
    }

    /// The legend panel: what the points are and what the axes are.
    fn draw_key<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut entries = vec![LegendEntry {
            label: "class mean μ_k − μ_G, divided by ‖M‖_F".into(),
            style: MEAN_STYLE,
            line: true,
        }];
        if self.weights.is_some() {
            entries.push(LegendEntry {
                label: "classifier row w_k, divided by ‖W‖_F".into(),
                style: WEIGHT_STYLE,
                line: true,
            });
        }
        draw_legend(
            area,
            "Legend",
            &entries,
            &[
                "Axes: the two leading principal components of the centred class means.".into(),
                "Under collapse the rows align with the means (NC3).".into(),
            ],
        )
    }
}

/// Writes each label at a place found by [`place_labels`] near its anchor (inside `bounds`,
/// `font` pixels high, in its colour), with a leader line to its point when it had to move
/// away from it.
fn draw_point_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    anchors: &[(i32, i32)],
    labels: &[(&str, RGBColor)],
    bounds: (i32, i32, i32, i32),
    font: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let sizes: Vec<(i32, i32)> = labels
        .iter()
        .map(|(t, _)| (text_width(t, font), font as i32 + 2))
        .collect();
    let placed = place_labels(anchors, &sizes, bounds);
    for ((&(name, colour), &(x, y)), &a) in labels.iter().zip(&placed).zip(anchors) {
        let (w, h) = (text_width(name, font), font as i32 + 2);
        let nearest = (a.0.clamp(x, x + w), a.1.clamp(y, y + h));
        if (nearest.0 - a.0).abs() + (nearest.1 - a.1).abs() > 14 {
            area.draw(&PathElement::new(
                vec![a, nearest],
                colour.mix(0.5).stroke_width(1),
            ))?;
        }
        area.draw_text(
            name,
            &plot::text(font)
                .color(&colour)
                .pos(Pos::new(HPos::Left, VPos::Top)),
            (x, y),
        )?;
    }
    Ok(())
}

impl Figure for PcaFigure {
    fn size(&self) -> (u32, u32) {
        (980, 700)
    }

    /// The plane with the classifier rows, then the means, as vectors from the origin; their
    /// labels up to 40 classes; the legend on the right.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &Marks,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (left, right) = root.split_horizontally(700);
        let r = self.extent();
        let mut chart = ChartBuilder::on(&left)
            .caption(&self.title, plot::text(20.0))
            .margin(12)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .build_cartesian_2d(-r..r, -r..r)?;
        self.draw_mesh(&mut chart, r)?;
        let origin = chart.backend_coord(&(0.0, 0.0));
        let pixels = |ps: &[(f64, f64)]| -> Vec<(i32, i32)> {
            ps.iter().map(|p| chart.backend_coord(p)).collect()
        };
        let weights = self.weights.as_deref().map_or(Vec::new(), pixels);
        let means = pixels(&self.means);
        self.draw_vectors(
            &left,
            marks,
            origin,
            &weights,
            (&WEIGHT_STYLE, "classifier row"),
        )?;
        self.draw_vectors(&left, marks, origin, &means, (&MEAN_STYLE, "class mean"))?;
        if self.names.len() <= 40 {
            let anchors: Vec<(i32, i32)> = weights.iter().chain(&means).copied().collect();
            let labels: Vec<(&str, RGBColor)> = self
                .names
                .iter()
                .take(weights.len())
                .map(|n| (n.as_str(), WEIGHT_STYLE.colour))
                .chain(
                    self.names
                        .iter()
                        .take(means.len())
                        .map(|n| (n.as_str(), MEAN_STYLE.colour)),
                )
                .collect();
            let (px, py) = chart.plotting_area().get_pixel_range();
            let bounds = (px.start, py.start, px.end, py.end);
            draw_point_labels(&left, &anchors, &labels, bounds, 12.0)?;
        }
        self.draw_key(&right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_is_monotone_in_lightness() {
        // Rec. 601 luma increases along the map: the order survives greyscale.
        let luma = |c: RGBColor| 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
        let mut last = -1.0;
        for s in 0..=50 {
            let l = luma(colour_map(s as f64 / 50.0));
            assert!(l > last, "step {s}");
            last = l;
        }
        assert_eq!(colour_map(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour_map(1.0), RGBColor(253, 231, 37));
    }

    #[test]
    fn labels_of_clustered_points_do_not_collide() {
        // Ten points within a few pixels of each other (collapsed means and their classifier
        // rows), labels 60 x 14 pixels.
        let anchors: Vec<(i32, i32)> = (0..10).map(|i| (300 + i % 3, 300 + i / 3)).collect();
        let sizes = vec![(60, 14); 10];
        let placed = place_labels(&anchors, &sizes, (0, 0, 700, 700));
        for i in 0..10 {
            let a = (placed[i].0, placed[i].1, placed[i].0 + 60, placed[i].1 + 14);
            assert!(a.0 >= 0 && a.1 >= 0 && a.2 <= 700 && a.3 <= 700);
            for (j, q) in placed.iter().enumerate().take(i) {
                let b = (q.0, q.1, q.0 + 60, q.1 + 14);
                let apart = a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1;
                assert!(apart, "labels {i} and {j} overlap: {a:?} {b:?}");
            }
        }
        // A lone point keeps its label right beside it.
        let one = place_labels(&[(100, 100)], &[(40, 14)], (0, 0, 700, 700));
        assert_eq!(one, vec![(110, 93)]);
    }
}
