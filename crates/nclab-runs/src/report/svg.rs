//! An SVG backend for plotters whose output a figure can annotate while it draws: groups
//! (`<g class="cond cond-c3">`, which the page's condition toggles hide and show), hover targets
//! (an invisible circle holding a `<title>`, which browsers show as a tooltip) and dashed lines
//! drawn as one element with `stroke-dasharray` (plotters' own dashed paths are one element per
//! dash).
//!
//! The backend and the figure share the buffer through [`Marks`]: plotters draws each element
//! into it at once, so what [`Marks`] writes lands between the elements drawn before and after.
//! For the PNG the figure gets [`Marks::none`], whose calls do nothing.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform,
};

#[derive(Debug, Default)]
struct State {
    buf: String,
    /// Dash pattern of the paths drawn now (`Marks::set_dash`).
    dash: Option<(u32, u32)>,
    /// Groups opened by `Marks::group` and not yet closed.
    open: usize,
}

/// The backend: SVG text in a buffer shared with [`Marks`].
pub struct SvgBackend {
    state: Rc<RefCell<State>>,
    size: (u32, u32),
}

/// What a figure may add to its SVG while drawing; see the module documentation.
#[derive(Clone, Default)]
pub struct Marks {
    svg: Option<Rc<RefCell<State>>>,
}

impl SvgBackend {
    /// A backend of `size` pixels and the [`Marks`] that write into the same document.
    pub fn new(size: (u32, u32)) -> (SvgBackend, Marks) {
        let state = Rc::new(RefCell::new(State::default()));
        let _ = writeln!(
            state.borrow_mut().buf,
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             xmlns=\"http://www.w3.org/2000/svg\">",
            w = size.0,
            h = size.1
        );
        (
            SvgBackend {
                state: state.clone(),
                size,
            },
            Marks { svg: Some(state) },
        )
    }
}

impl Marks {
    /// Marks that do nothing (the PNG).
    pub fn none() -> Marks {
        Marks { svg: None }
    }

    /// Whether this is an SVG (then dashes are drawn natively, after [`Marks::set_dash`]).
    pub fn is_svg(&self) -> bool {
        self.svg.is_some()
    }

    /// Opens `<g class="{class}">`: everything drawn until [`Marks::end_group`] is inside.
    pub fn group(&self, class: &str) {
        if let Some(s) = &self.svg {
            let mut s = s.borrow_mut();
            let _ = writeln!(s.buf, "<g class=\"{}\">", attr(class));
            s.open += 1;
        }
    }

    /// Closes the innermost group opened by [`Marks::group`].
    pub fn end_group(&self) {
        if let Some(s) = &self.svg {
            let mut s = s.borrow_mut();
            if s.open > 0 {
                s.buf.push_str("</g>\n");
                s.open -= 1;
            }
        }
    }

    /// An invisible circle of radius `r` at pixel `at` whose `<title>` is `title` (a tooltip).
    pub fn hover(&self, at: (i32, i32), r: u32, title: &str) {
        if let Some(s) = &self.svg {
            let _ = writeln!(
                s.borrow_mut().buf,
                "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\" fill=\"#000\" fill-opacity=\"0\" \
                 class=\"hover\"><title>{}</title></circle>",
                at.0,
                at.1,
                attr(title)
            );
        }
    }

    /// The SVG document so far, completed (groups left open closed, `</svg>`); `None` for
    /// [`Marks::none`].
    pub fn document(&self) -> Option<String> {
        let s = self.svg.as_ref()?.borrow();
        let mut out = s.buf.clone();
        for _ in 0..s.open {
            out.push_str("</g>\n");
        }
        out.push_str("</svg>\n");
        Some(out)
    }

    /// Paths drawn from now on are dashed `(dash, gap)` in pixels (`None`: solid).
    pub fn set_dash(&self, dash: Option<(u32, u32)>) {
        if let Some(s) = &self.svg {
            s.borrow_mut().dash = dash;
        }
    }
}

/// Escapes text for an attribute value or element content.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The fill or stroke attributes of a shape: filled with `c`, or outlined in `c` `width` wide.
fn paint(c: BackendColor, fill: bool, width: u32) -> String {
    if fill {
        format!("fill=\"{}\" stroke=\"none\"", colour(c))
    } else {
        format!(
            "fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\"",
            colour(c)
        )
    }
}

fn colour(c: BackendColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.rgb.0, c.rgb.1, c.rgb.2)
}

/// ` opacity="a"` unless the colour is opaque.
fn opacity(c: BackendColor) -> String {
    if c.alpha >= 1.0 {
        String::new()
    } else {
        format!(" opacity=\"{}\"", c.alpha)
    }
}

fn points(path: impl IntoIterator<Item = BackendCoord>) -> String {
    let mut s = String::new();
    for (x, y) in path {
        let _ = write!(s, "{x},{y} ");
    }
    s.pop();
    s
}

impl SvgBackend {
    fn push(&self, element: &str) {
        let mut s = self.state.borrow_mut();
        s.buf.push_str(element);
        s.buf.push('\n');
    }

    fn dash_attr(&self) -> String {
        match self.state.borrow().dash {
            Some((d, g)) => format!(" stroke-dasharray=\"{d} {g}\""),
            None => String::new(),
        }
    }
}

impl DrawingBackend for SvgBackend {
    type ErrorType = std::io::Error;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        (x, y): BackendCoord,
        c: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if c.alpha > 0.0 {
            self.push(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\" fill=\"{}\"{}/>",
                colour(c),
                opacity(c)
            ));
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha > 0.0 {
            self.push(&format!(
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}{}/>",
                from.0,
                from.1,
                to.0,
                to.1,
                colour(c),
                style.stroke_width(),
                opacity(c),
                self.dash_attr()
            ));
        }
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha > 0.0 {
            let paint = paint(c, fill, style.stroke_width().max(1));
            self.push(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {paint}{}/>",
                ul.0,
                ul.1,
                br.0 - ul.0,
                br.1 - ul.1,
                opacity(c)
            ));
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha > 0.0 {
            self.push(&format!(
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" \
                 stroke-linejoin=\"round\"{}{} points=\"{}\"/>",
                colour(c),
                style.stroke_width(),
                opacity(c),
                self.dash_attr(),
                points(path)
            ));
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        (x, y): BackendCoord,
        r: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha > 0.0 {
            let paint = paint(c, fill, style.stroke_width());
            self.push(&format!(
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" {paint}{}/>",
                opacity(c)
            ));
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha > 0.0 {
            self.push(&format!(
                "<polygon fill=\"{}\" stroke=\"none\"{} points=\"{}\"/>",
                colour(c),
                opacity(c),
                points(path)
            ));
        }
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        (x, y): BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let c = style.color();
        if c.alpha == 0.0 {
            return Ok(());
        }
        let anchor = match style.anchor().h_pos {
            HPos::Left => "start",
            HPos::Right => "end",
            HPos::Center => "middle",
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => "0.76em",
            VPos::Center => "0.5ex",
            VPos::Bottom => "-0.5ex",
        };
        let weight = match style.style() {
            FontStyle::Bold => " font-weight=\"bold\"",
            FontStyle::Italic => " font-style=\"italic\"",
            FontStyle::Oblique => " font-style=\"oblique\"",
            FontStyle::Normal => "",
        };
        let rotate = match style.transform() {
            FontTransform::Rotate90 => format!(" transform=\"rotate(90, {x}, {y})\""),
            FontTransform::Rotate180 => format!(" transform=\"rotate(180, {x}, {y})\""),
            FontTransform::Rotate270 => format!(" transform=\"rotate(270, {x}, {y})\""),
            FontTransform::None => String::new(),
        };
        // plotters' sizes are in pixels of the em box; SVG's font-size is the em itself, and
        // plotters' own SVG backend divides by 1.24 to match its bitmap text.
        self.push(&format!(
            "<text x=\"{x}\" y=\"{y}\" dy=\"{dy}\" text-anchor=\"{anchor}\" \
             font-family=\"{}\" font-size=\"{}\" fill=\"{}\"{}{weight}{rotate}>{}</text>",
            attr(style.family().as_str()),
            style.size() / 1.24,
            colour(c),
            opacity(c),
            attr(text)
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Marks, SvgBackend};
    use plotters::prelude::*;

    #[test]
    fn groups_titles_and_native_dashes_land_in_drawing_order() {
        let (backend, marks) = SvgBackend::new((100, 50));
        let root = backend.into_drawing_area();
        marks.group("cond cond-c1");
        root.draw(&PathElement::new(
            vec![(0, 0), (10, 10)],
            RED.stroke_width(2),
        ))
        .unwrap();
        marks.set_dash(Some((4, 2)));
        root.draw(&PathElement::new(vec![(0, 5), (10, 5)], BLUE))
            .unwrap();
        marks.set_dash(None);
        marks.hover((10, 10), 4, "a < b");
        marks.end_group();
        root.draw(&Circle::new((5, 5), 3, BLACK.filled())).unwrap();
        marks.group("left open");
        let text = marks.document().unwrap();
        assert!(text.starts_with("<svg width=\"100\" height=\"50\""));
        assert!(text.ends_with("</g>\n</svg>\n"), "{text}");
        let at = |pat: &str| text.find(pat).unwrap_or_else(|| panic!("{pat} in {text}"));
        let order = [
            at("<g class=\"cond cond-c1\">"),
            at("stroke=\"#FF0000\""),
            at("stroke-dasharray=\"4 2\""),
            at("<title>a &lt; b</title>"),
            at("</g>"),
            at("<circle cx=\"5\""),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert_eq!(text.matches("stroke-dasharray").count(), 1, "{text}");
        assert!(Marks::none().document().is_none());
    }
}
