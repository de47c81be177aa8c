//! Plain text from a saved news page.
//!
//! The page is parsed by html5ever, which implements the HTML5 parsing algorithm of browsers:
//! scraped Vietnamese news pages are routinely broken (unclosed `<p>`, stray `</div>`,
//! CMS-injected fragments, entities from old editors), and the parser recovers from all of that
//! the way the reader's browser did, and decodes every named and numeric character reference.
//! One walk over the parsed tree then turns block elements into line breaks, giving the
//! readable text in reading order with paragraph boundaries.
//!
//! On top of the tree sit bantin's chrome rules. Elements that are page chrome are skipped
//! whole. Chrome is recognised by tag name (`<nav>`, `<footer>`...) and, since most sites build
//! their cookie banners, top bars, ad slots and "Tin liên quan" boxes out of plain `<div>`s, by
//! the `class` and `id` attributes too (`chrome_token` below states the exact rule). A
//! chrome-looking element that holds most of the page's prose is kept: that is an unclosed chrome
//! element the parser had to extend to the end of the page (`<nav>` never closed), or a
//! mislabelled wrapper. An element chrome by its class is also kept when it holds the headline.
//!
//! The result still contains furniture the markup does not label (bylines, captions, unclassed
//! share links or "Tin liên quan" lists); removing that is [`crate::corpus::clean`]'s job.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{ns, parse_document, Attribute, LocalName, Namespace, QualName};
use unicode_normalization::UnicodeNormalization;

/// The readable content of an HTML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlText {
    /// `<title>`, or the first `<h1>` when the page has no usable title.
    pub title: Option<String>,
    /// Body text: one line per block, paragraphs separated by one blank line, NFC.
    pub text: String,
}

/// Extracts the title and the body text of `html`. Never fails: whatever cannot be parsed is
/// treated as text or skipped, as a browser would.
pub fn html_to_text(html: &str) -> HtmlText {
    let html = close_self_closed_raw_text(html);
    let html = cap_nesting(&html);
    let mut dom = Dom::parse(&html);
    // A start tag whose quoted attribute value is never closed runs to the end of the file, and
    // browsers show nothing after it: `<p class="x>text</p>…` loses the whole rest of the page.
    // The author meant the next `>`; one repaired reparse gets the article back.
    if let Some(quote) = dom.eof_quote.get() {
        if let Some(repaired) = close_runaway_quote(&html, quote) {
            dom = Dom::parse(&repaired);
        }
    }
    dom.extract()
}

/// Elements whose content is not readable text: scripts, styles, the title (read separately),
/// form fields, frames. `noscript` is here because browsers with scripting treat it that way,
/// and its content is a fallback we do not want either.
const RAW_TEXT: &[&str] = &[
    "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
];

/// Page chrome and embedded non-text content, skipped with everything inside them.
/// `form` is absent on purpose: ASP.NET sites wrap the whole page in one.
const SKIPPED: &[&str] = &[
    "head", "nav", "header", "footer", "aside", "template", "svg", "math", "select", "button",
    "video", "audio", "canvas", "object",
];

/// XHTML pages write `<script src="a.js"/>`. HTML ignores the `/`, so when the document has no
/// `</script>` at all, everything after the tag would be script source and the page would be
/// empty. In that case only, the element really was meant empty: it is closed on the spot.
fn close_self_closed_raw_text(html: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(html);
    for name in ["script", "style", "iframe", "textarea", "title", "noscript"] {
        let end_tag = format!("</{name}");
        if find_ci(out.as_bytes(), 0, end_tag.as_bytes()).is_some() {
            continue;
        }
        let start_tag = format!("<{name}");
        let mut fixed = String::with_capacity(out.len() + 16);
        let mut rest: &str = &out;
        let mut changed = false;
        while let Some(at) = find_ci(rest.as_bytes(), 0, start_tag.as_bytes()) {
            let after_name = at + start_tag.len();
            let boundary = rest.as_bytes().get(after_name).copied();
            let Some(close) = rest[after_name..].find('>').map(|p| p + after_name) else {
                break;
            };
            let is_tag =
                boundary.is_some_and(|b| b.is_ascii_whitespace() || b == b'/' || b == b'>');
            if is_tag && rest.as_bytes()[close - 1] == b'/' {
                fixed.push_str(&rest[..close - 1]);
                fixed.push_str("></");
                fixed.push_str(name);
                fixed.push('>');
                changed = true;
            } else {
                fixed.push_str(&rest[..=close]);
            }
            rest = &rest[close + 1..];
        }
        if changed {
            fixed.push_str(rest);
            out = Cow::Owned(fixed);
        }
    }
    out
}

/// Deepest nesting of open elements passed to the parser. Real pages stay under a hundred;
/// browsers cap the tree at 512 (Blink). The HTML5 algorithm scans the stack of open elements on
/// every block start tag, so a page of 40,000 unclosed `<div>`s costs seconds (quadratic), and a
/// megabyte of them minutes.
const MAX_DEPTH: usize = 512;

/// Elements that close themselves (or are closed by their next sibling) in practice: they do
/// not deepen the tree when left open.
const SELF_ENDING: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body", "a", "h1", "h2", "h3", "h4",
    "h5", "h6",
];

/// Removes start tags that would open an element deeper than [`MAX_DEPTH`] (by a quick count of
/// start and end tags; script and style content is skipped). Their text stays; a block start
/// becomes a line break so that its text does not run into what precedes it. Pages within the
/// limit are passed on unchanged.
fn cap_nesting(html: &str) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut cuts: Vec<(usize, usize, bool)> = Vec::new();
    let mut i = 0;
    while let Some(lt) = bytes[i..].iter().position(|&b| b == b'<').map(|p| p + i) {
        let closing = bytes.get(lt + 1) == Some(&b'/');
        let name_start = lt + 1 + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        i = lt + 1;
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let Some(gt) = bytes[name_start..].iter().position(|&b| b == b'>') else {
            break;
        };
        let end = name_start + gt + 1;
        i = end;
        if closing {
            if !is_void(&name) && !SELF_ENDING.contains(&name.as_str()) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            i = find_ci(bytes, end, close.as_bytes()).unwrap_or(bytes.len());
            continue;
        }
        let self_closed = bytes[end - 2] == b'/';
        if is_void(&name) || SELF_ENDING.contains(&name.as_str()) || self_closed {
            continue;
        }
        depth += 1;
        if depth > MAX_DEPTH {
            cuts.push((lt, end, !matches!(block_kind(&name), Block::Inline)));
        }
    }
    if cuts.is_empty() {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut from = 0;
    for (start, end, block) in cuts {
        out.push_str(&html[from..start]);
        if block {
            out.push_str("<br>");
        }
        from = end;
    }
    out.push_str(&html[from..]);
    Cow::Owned(out)
}

/// The quote that was left open is the last `quote` in the document (a later one would have
/// closed it); it is closed before the first `>` after it. `None` when there is no such `>`
/// (a tag cut off by the end of the file: browsers drop it, so do we).
fn close_runaway_quote(html: &str, quote: char) -> Option<String> {
    let open = html.rfind(quote)?;
    let gt = html[open..].find('>')? + open;
    let mut repaired = String::with_capacity(html.len() + 1);
    repaired.push_str(&html[..gt]);
    repaired.push(quote);
    repaired.push_str(&html[gt..]);
    Some(repaired)
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// One node of the parsed page. Comments, doctypes and processing instructions are kept as
/// `Other` only because the parser may refer to them; nothing reads them.
enum Data {
    Document,
    Element {
        /// Whether `class` or `id` mark the element as chrome (see [`chrome_token`]).
        chrome: Option<Chrome>,
    },
    Text(String),
    Other,
}

struct Node {
    /// Elements only; other nodes carry an empty name, so that the parser's name queries never
    /// have to fail.
    name: QualName,
    parent: Option<usize>,
    children: Vec<usize>,
    data: Data,
}

/// The parsed page: an arena of nodes addressed by index, built by html5ever through
/// [`TreeSink`]. Node 0 is the document.
struct Dom {
    nodes: RefCell<Vec<Node>>,
    /// Template elements and their contents fragment (not their children: never displayed).
    templates: RefCell<Vec<(usize, usize)>>,
    /// Set when the file ended inside a quoted attribute value, with the quote character.
    eof_quote: Cell<Option<char>>,
}

impl Dom {
    fn parse(html: &str) -> Dom {
        let sink = Dom {
            nodes: RefCell::new(vec![Node {
                name: empty_name(),
                parent: None,
                children: Vec::new(),
                data: Data::Document,
            }]),
            templates: RefCell::new(Vec::new()),
            eof_quote: Cell::new(None),
        };
        parse_document(sink, Default::default()).one(html)
    }

    fn new_node(&self, name: QualName, data: Data) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            name,
            parent: None,
            children: Vec::new(),
            data,
        });
        nodes.len() - 1
    }

    fn detach(nodes: &mut [Node], child: usize) {
        if let Some(parent) = nodes[child].parent.take() {
            nodes[parent].children.retain(|&c| c != child);
        }
    }

    /// Inserts `child` into `parent` at `pos`, merging text into a neighbouring text node as
    /// the parser requires.
    fn insert(&self, parent: usize, pos: usize, child: NodeOrText<usize>) {
        match child {
            NodeOrText::AppendNode(node) => {
                let mut nodes = self.nodes.borrow_mut();
                Dom::detach(&mut nodes, node);
                let pos = pos.min(nodes[parent].children.len());
                nodes[parent].children.insert(pos, node);
                nodes[node].parent = Some(parent);
            }
            NodeOrText::AppendText(text) => {
                {
                    let mut nodes = self.nodes.borrow_mut();
                    let pos = pos.min(nodes[parent].children.len());
                    let before = pos
                        .checked_sub(1)
                        .and_then(|p| nodes[parent].children.get(p).copied());
                    if let Some(prev) = before {
                        if let Data::Text(s) = &mut nodes[prev].data {
                            s.push_str(&text);
                            return;
                        }
                    }
                }
                let node = self.new_node(empty_name(), Data::Text(text.to_string()));
                let mut nodes = self.nodes.borrow_mut();
                let pos = pos.min(nodes[parent].children.len());
                nodes[parent].children.insert(pos, node);
                nodes[node].parent = Some(parent);
            }
        }
    }

    fn has_parent(&self, node: usize) -> bool {
        self.nodes.borrow()[node].parent.is_some()
    }
}

fn empty_name() -> QualName {
    QualName::new(None, Namespace::from(""), LocalName::from(""))
}

impl TreeSink for Dom {
    type Handle = usize;
    type Output = Dom;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Dom {
        self
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        // html5ever's wording: "Saw EOF in state AttributeValue(DoubleQuoted)".
        if msg.contains("EOF") {
            if msg.contains("AttributeValue(DoubleQuoted)") {
                self.eof_quote.set(Some('"'));
            } else if msg.contains("AttributeValue(SingleQuoted)") {
                self.eof_quote.set(Some('\''));
            }
        }
    }

    fn get_document(&self) -> usize {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        Ref::map(self.nodes.borrow(), |nodes| &nodes[*target].name)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        let chrome = chrome_of(&name, &attrs);
        let node = self.new_node(name, Data::Element { chrome });
        if flags.template {
            let contents = self.new_node(empty_name(), Data::Document);
            self.templates.borrow_mut().push((node, contents));
        }
        node
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.new_node(empty_name(), Data::Other)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.new_node(empty_name(), Data::Other)
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.insert(*parent, usize::MAX, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        if self.has_parent(*element) {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &usize) -> usize {
        let found = self
            .templates
            .borrow()
            .iter()
            .find(|(t, _)| t == target)
            .map(|(_, c)| *c);
        // The parser only asks for elements it created as templates; an orphan fragment keeps
        // anything else out of the page all the same.
        found.unwrap_or_else(|| self.new_node(empty_name(), Data::Document))
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        let place = {
            let nodes = self.nodes.borrow();
            nodes[*sibling].parent.and_then(|p| {
                nodes[p]
                    .children
                    .iter()
                    .position(|c| c == sibling)
                    .map(|pos| (p, pos))
            })
        };
        if let Some((parent, pos)) = place {
            // Moving a node from earlier in the same parent shifts the position by one.
            if let NodeOrText::AppendNode(n) = &new_node {
                let nodes = self.nodes.borrow();
                let earlier =
                    nodes[*n].parent == Some(parent) && nodes[parent].children[..pos].contains(n);
                drop(nodes);
                if earlier {
                    self.insert(parent, pos - 1, new_node);
                    return;
                }
            }
            self.insert(parent, pos, new_node);
        }
    }

    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        // `<body class="…">` repeated later in the page: only the verdict on class and id is
        // kept, and a second tag never makes an element chrome (`html` and `body` never are).
        let _ = (target, attrs);
    }

    fn remove_from_parent(&self, target: &usize) {
        Dom::detach(&mut self.nodes.borrow_mut(), *target);
    }

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let mut nodes = self.nodes.borrow_mut();
        let children = std::mem::take(&mut nodes[*node].children);
        for &c in &children {
            nodes[c].parent = Some(*new_parent);
        }
        nodes[*new_parent].children.extend(children);
    }
}

/// The chrome verdict for a new element from its `class` and `id` (the first one of each, as
/// in browsers; the parser drops repeats).
fn chrome_of(name: &QualName, attrs: &[Attribute]) -> Option<Chrome> {
    let local: &str = &name.local;
    if STRUCTURAL.contains(&local) || is_void(local) {
        return None;
    }
    let attr = |want: &str| {
        attrs
            .iter()
            .find(|a| a.name.ns == ns!() && &*a.name.local == want)
            .map(|a| &*a.value)
    };
    chrome_attr(attr("class")).or_else(|| chrome_attr(attr("id")))
}

/// What the walk needs to know about each node, from its ancestors and its subtree.
#[derive(Clone, Copy, Default)]
struct Info {
    /// Inside `<article>` or `<main>`.
    in_article: bool,
    /// Inside an element whose content is not text (script, style, title…).
    in_raw: bool,
    /// Visible characters in the subtree, in all text and in text inside `<p>`.
    text: usize,
    p_text: usize,
    /// `<h1>`s in the subtree: all of them, and those not inside a logo.
    h1: usize,
    h1_outside_logo: usize,
}

impl Dom {
    fn local(nodes: &[Node], i: usize) -> Option<&str> {
        match nodes[i].data {
            Data::Element { .. } => Some(&nodes[i].name.local),
            _ => None,
        }
    }

    /// The document's nodes in reading order (pre-order), without recursion: a page of a
    /// hundred thousand nested `<div>`s must not overflow the stack.
    fn preorder(nodes: &[Node]) -> Vec<usize> {
        let mut order = Vec::with_capacity(nodes.len());
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            order.push(i);
            stack.extend(nodes[i].children.iter().rev());
        }
        order
    }

    fn infos(nodes: &[Node], order: &[usize]) -> Vec<Info> {
        let mut info = vec![Info::default(); nodes.len()];
        // Down: what the ancestors say. Flags are per node and the ancestors' own, except
        // in_p/in_logo, which are tracked alongside.
        let mut in_p = vec![false; nodes.len()];
        let mut in_logo = vec![false; nodes.len()];
        for &i in order {
            let (mut inf, mut p, mut logo) = match nodes[i].parent {
                Some(parent) => (info[parent], in_p[parent], in_logo[parent]),
                None => (Info::default(), false, false),
            };
            inf.text = 0;
            inf.p_text = 0;
            inf.h1 = 0;
            inf.h1_outside_logo = 0;
            if let Some(parent) = nodes[i].parent {
                if let Some(name) = Dom::local(nodes, parent) {
                    inf.in_article |= matches!(name, "article" | "main");
                    inf.in_raw |= RAW_TEXT.contains(&name);
                    p |= name == "p";
                }
                if let Data::Element {
                    chrome: Some(Chrome::Logo),
                } = nodes[parent].data
                {
                    logo = true;
                }
            }
            match &nodes[i].data {
                Data::Text(s) if !inf.in_raw => {
                    inf.text = s.chars().filter(|c| !c.is_whitespace()).count();
                    if p {
                        inf.p_text = inf.text;
                    }
                }
                Data::Element { chrome } if Dom::local(nodes, i) == Some("h1") => {
                    inf.h1 = 1;
                    inf.h1_outside_logo = usize::from(!logo && *chrome != Some(Chrome::Logo));
                }
                _ => {}
            }
            info[i] = inf;
            in_p[i] = p;
            in_logo[i] = logo;
        }
        // Up: subtree sums. In reverse pre-order every child comes before its parent.
        for &i in order.iter().rev() {
            if let Some(parent) = nodes[i].parent {
                let c = info[i];
                let p = &mut info[parent];
                p.text += c.text;
                p.p_text += c.p_text;
                p.h1 += c.h1;
                p.h1_outside_logo += c.h1_outside_logo;
            }
        }
        info
    }

    fn extract(&self) -> HtmlText {
        let nodes = self.nodes.borrow();
        let order = Dom::preorder(&nodes);
        let info = Dom::infos(&nodes, &order);
        let root = info[0];
        // Where the article text is: in <p>s when they hold at least half the page's text,
        // otherwise (text in <div>s and <br>s) all text counts.
        let use_p = root.p_text > 0 && root.p_text * 2 >= root.text;
        let holds_article = |i: usize| {
            if use_p {
                info[i].p_text * 2 > root.p_text
            } else {
                info[i].text * 2 > root.text
            }
        };
        // The headline: an <h1> not inside the logo, unless the logo holds the only ones.
        let holds_headline = |i: usize| {
            if root.h1_outside_logo > 0 {
                info[i].h1_outside_logo > 0
            } else {
                info[i].h1 > 0
            }
        };
        let skip = |i: usize, name: &str, chrome: Option<Chrome>| {
            if RAW_TEXT.contains(&name) {
                return true;
            }
            // A <header> inside <article> or <main> is the article's own header: it holds the
            // headline, which the cleaner wants to see. Only the site-wide header is chrome.
            let by_tag = SKIPPED.contains(&name) && !(name == "header" && info[i].in_article);
            let by_class = match chrome {
                None => false,
                Some(Chrome::Masthead) if info[i].in_article => false,
                Some(_) => !holds_headline(i),
            };
            (by_tag || by_class) && !holds_article(i)
        };

        let mut out = TextOut::default();
        let mut pre_depth = 0usize;
        let mut first_h1: Option<String> = None;
        let mut h1_open: Option<(usize, String)> = None;
        // (node, leaving): elements are visited twice, on the way in and on the way out.
        let mut stack: Vec<(usize, bool)> = vec![(0, false)];
        while let Some((i, leaving)) = stack.pop() {
            let node = &nodes[i];
            match &node.data {
                Data::Text(s) => {
                    if let Some((_, buf)) = h1_open.as_mut() {
                        buf.push_str(s);
                    }
                    out.text(s, pre_depth > 0);
                }
                Data::Element { chrome } => {
                    let name: &str = &node.name.local;
                    let block = block_kind(name);
                    if leaving {
                        // `<br>` is one break; it has no end to separate again.
                        if !matches!(block, Block::LineBreak) {
                            out.separate(&block);
                        }
                        if name == "pre" {
                            pre_depth = pre_depth.saturating_sub(1);
                        }
                        if h1_open.as_ref().is_some_and(|(h, _)| *h == i) {
                            first_h1 = h1_open.take().map(|(_, buf)| buf);
                        }
                        continue;
                    }
                    // A skipped element still separates what comes before and after it.
                    out.separate(&block);
                    if skip(i, name, *chrome) {
                        continue;
                    }
                    if name == "pre" {
                        pre_depth += 1;
                    }
                    if name == "h1" && first_h1.is_none() && h1_open.is_none() {
                        h1_open = Some((i, String::new()));
                    }
                    if !matches!(block, Block::Inline | Block::Cell) {
                        if let Some((_, buf)) = h1_open.as_mut() {
                            buf.push(' ');
                        }
                    }
                    stack.push((i, true));
                    stack.extend(node.children.iter().rev().map(|&c| (c, false)));
                }
                Data::Document => {
                    stack.extend(node.children.iter().rev().map(|&c| (c, false)));
                }
                Data::Other => {}
            }
        }

        let title = self
            .find_title(&nodes, &order)
            .or_else(|| first_h1.and_then(|h| non_empty(collapse_ws(&h))))
            // The page may only have an h1 inside chrome we skipped (a masthead); better than none.
            .or_else(|| self.find_any_h1(&nodes, &order));

        HtmlText {
            title: title.map(|t| t.nfc().collect()),
            text: out.finish().nfc().collect(),
        }
    }

    /// The text of an element's subtree, raw-text elements left out; blocks and `<br>` become
    /// spaces.
    fn text_of(nodes: &[Node], root: usize) -> String {
        let mut buf = String::new();
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            match &nodes[i].data {
                Data::Text(s) => buf.push_str(s),
                Data::Element { .. } => {
                    let name: &str = &nodes[i].name.local;
                    if i != root && RAW_TEXT.contains(&name) {
                        continue;
                    }
                    if !matches!(block_kind(name), Block::Inline) {
                        buf.push(' ');
                    }
                    stack.extend(nodes[i].children.iter().rev());
                }
                _ => {}
            }
        }
        buf
    }

    /// The first non-empty HTML `<title>`. An `<svg>` has its own `<title>` (an icon label),
    /// which the parser puts in the SVG namespace.
    fn find_title(&self, nodes: &[Node], order: &[usize]) -> Option<String> {
        order
            .iter()
            .filter(|&&i| {
                matches!(nodes[i].data, Data::Element { .. })
                    && nodes[i].name.ns == ns!(html)
                    && &*nodes[i].name.local == "title"
            })
            .find_map(|&i| non_empty(collapse_ws(&Dom::text_of(nodes, i))))
    }

    fn find_any_h1(&self, nodes: &[Node], order: &[usize]) -> Option<String> {
        let h1 = order
            .iter()
            .copied()
            .find(|&i| Dom::local(nodes, i) == Some("h1"))?;
        non_empty(collapse_ws(&Dom::text_of(nodes, h1)))
    }
}

/// What a chrome `class` or `id` says the element is. Only the difference matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chrome {
    /// Banners, bars, widgets and boxes: never article text.
    Widget,
    /// The site's logo or name. An `<h1>` inside one is the masthead, not the headline.
    Logo,
    /// `class="header"`, `id="footer"`: the site-wide header or footer, except inside
    /// `<article>`/`<main>`, where (like the `<header>` tag) it belongs to the article.
    Masthead,
}

/// Elements never skipped for their class: pages put state classes on them
/// (`<body class="has-cookie-banner">`), and they hold everything.
const STRUCTURAL: &[&str] = &["html", "body", "main"];

/// Parts (see [`chrome_token`]) that mark chrome on their own. Exact matches only, so that
/// `sharepoint` is not `share` and `adress` is not `ad`.
#[rustfmt::skip]
const CHROME_WORDS: &[&str] = &[
    // Adverts.
    "ad", "ads", "adv", "advs", "adsense", "adsbygoogle", "qc", "quangcao",
    // Pop-ups and modal dialogs.
    "modal",
    // Top bars and utility bars.
    "topbar", "topnav", "toolbar", "utility", "utilities",
    // Breadcrumbs and the section label above the headline.
    "breadcrumb", "breadcrumbs", "cate", "category", "categories", "chuyenmuc",
    // Share, social and comment widgets.
    "share", "shares", "sharing", "sharebar", "sharebox", "sharethis", "addthis", "social",
    "socials", "chiase", "comment", "comments", "binhluan",
    // Related-news boxes.
    "related", "lienquan", "tinlienquan",
    // Newsletter and subscription boxes.
    "subscribe", "subscription", "newsletter", "newsletters",
    // Back to top.
    "backtotop", "gotop", "totop", "scrolltop",
];

/// Word stems that mark chrome at the start of any part: `cookiebar`, `advertisement`,
/// `popup2`, `gdprnotice`. Each is long and specific enough not to begin an ordinary word.
const CHROME_STEMS: &[&str] = &[
    "cookie",
    "gdpr",
    "consent",
    "advert",
    "quangcao",
    "popup",
    "breadcrumb",
    "newsletter",
    "tinlienquan",
];

/// Runs of consecutive parts that mark chrome: `top-bar`, `quang-cao`, `tin-lien-quan`.
const CHROME_PHRASES: &[&[&str]] = &[
    &["quang", "cao"],
    &["top", "bar"],
    &["top", "nav"],
    &["top", "header"],
    &["header", "top"],
    &["tin", "lien", "quan"],
    &["lien", "quan"],
    &["binh", "luan"],
    &["chia", "se"],
    &["chuyen", "muc"],
    &["to", "top"],
    &["go", "top"],
    &["back", "top"],
    &["scroll", "top"],
];

/// The site's name or logo.
const LOGO_WORDS: &[&str] = &["logo", "brand", "sitename", "sitelogo"];
const LOGO_PHRASES: &[&[&str]] = &[&["site", "name"], &["site", "title"]];

/// A class token whose first part says the page *lacks* or *has* the thing: `no-ads`,
/// `has-sidebar-ads` describe the container, they do not make it an ad.
const NEGATIONS: &[&str] = &["no", "not", "without", "has", "with"];

/// Whether a `class` or `id` value marks its element as chrome: the first token that does
/// decides. See [`chrome_token`].
fn chrome_attr(value: Option<&str>) -> Option<Chrome> {
    value?.split_ascii_whitespace().find_map(chrome_token)
}

/// The rule for one class token (or an id).
///
/// The token is cut into parts at `-` and `_` (so BEM's `__`/`--` too) and at lower-to-upper
/// camelCase boundaries, and lowercased: `article__cate` is `article` + `cate`, `boxRelated` is
/// `box` + `related`. It is chrome when
/// - a part is one of [`CHROME_WORDS`] (`share`, `ads`, `related`, `quangcao`...) exactly,
/// - a part begins with one of [`CHROME_STEMS`] (`cookie…`, `gdpr…`, `advert…`, `popup…`), or
/// - consecutive parts spell one of [`CHROME_PHRASES`] (`top-bar`, `tin-lien-quan`, `quang-cao`),
///
/// and the logo/brand words work the same way. The whole tokens `header`/`footer` (also
/// `site-header`, `masthead`...) are the site header and footer. Never chrome: a token whose first
/// part is a negation (`no-ads`), and any match inside a part (`sharepoint`, `headline`,
/// `download`, `article-body`, `news-content` all have no chrome part).
fn chrome_token(token: &str) -> Option<Chrome> {
    let parts = token_parts(token);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let first = *parts.first()?;
    if NEGATIONS.contains(&first) && parts.len() > 1 {
        return None;
    }
    match parts.as_slice() {
        ["header" | "footer" | "masthead" | "siteheader" | "sitefooter"]
        | ["site" | "page" | "main", "header" | "footer"]
        | ["header" | "footer", "wrapper" | "wrap" | "container"] => return Some(Chrome::Masthead),
        _ => {}
    }
    let has_phrase = |phrases: &[&[&str]]| {
        phrases
            .iter()
            .any(|ph| parts.windows(ph.len()).any(|w| w == *ph))
    };
    if parts.iter().any(|p| LOGO_WORDS.contains(p)) || has_phrase(LOGO_PHRASES) {
        return Some(Chrome::Logo);
    }
    if parts
        .iter()
        .any(|p| CHROME_WORDS.contains(p) || CHROME_STEMS.iter().any(|stem| p.starts_with(stem)))
        || has_phrase(CHROME_PHRASES)
    {
        return Some(Chrome::Widget);
    }
    None
}

fn token_parts(token: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in token.chars() {
        if c == '-' || c == '_' {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

enum Block {
    /// Starts and ends a paragraph (blank line).
    Paragraph,
    /// Starts and ends a line.
    Line,
    /// `<br>`: ends the line; two in a row make a paragraph break.
    LineBreak,
    /// Table cell: keeps neighbouring cells from running together.
    Cell,
    Inline,
}

fn block_kind(name: &str) -> Block {
    match name {
        "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "section"
        | "article" | "main" | "figure" | "figcaption" | "ul" | "ol" | "dl" | "table" | "pre"
        | "hr" | "address" | "fieldset" | "form" | "details" | "summary" | "center" | "header"
        | "footer" | "nav" | "aside" | "body" | "caption" | "hgroup" | "menu" | "picture" => {
            Block::Paragraph
        }
        "li" | "tr" | "dt" | "dd" | "option" | "legend" | "thead" | "tbody" | "tfoot" => {
            Block::Line
        }
        "br" => Block::LineBreak,
        "td" | "th" => Block::Cell,
        _ => Block::Inline,
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "param"
            | "keygen"
    )
}

/// Builds the output line by line, deciding on separators lazily so that empty elements and
/// whitespace-only text between blocks never produce stray blank lines.
#[derive(Default)]
struct TextOut {
    lines: Vec<String>,
    cur: String,
    pending_space: bool,
    /// Separator owed before the next text: 0 none, 1 newline, 2 blank line.
    pending_break: u8,
}

impl TextOut {
    fn text(&mut self, s: &str, pre: bool) {
        for c in s.chars() {
            if pre && c == '\n' {
                self.line_break();
                continue;
            }
            // Includes U+00A0: `&nbsp;` runs are layout, not content.
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            // Invisible characters that break word matching downstream.
            if matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{00AD}') {
                continue;
            }
            if self.cur.is_empty() {
                if self.pending_break >= 2 && !self.lines.is_empty() {
                    self.lines.push(String::new());
                }
                self.pending_break = 0;
            } else if self.pending_space {
                self.cur.push(' ');
            }
            self.pending_space = false;
            self.cur.push(c);
        }
    }

    fn finish_line(&mut self, strength: u8) {
        self.lines.push(std::mem::take(&mut self.cur));
        self.pending_break = strength;
    }

    fn block(&mut self, strength: u8) {
        if self.cur.is_empty() {
            self.pending_break = self.pending_break.max(strength);
        } else {
            self.finish_line(strength);
        }
        self.pending_space = false;
    }

    fn line_break(&mut self) {
        if self.cur.is_empty() {
            // A second <br> in a row: authors use <br><br> as a paragraph break.
            if self.pending_break >= 1 {
                self.pending_break = 2;
            }
        } else {
            self.finish_line(1);
        }
        self.pending_space = false;
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    /// What an element's start or end does to the text around it.
    fn separate(&mut self, block: &Block) {
        match block {
            Block::Paragraph => self.block(2),
            Block::Line => self.block(1),
            Block::LineBreak => self.line_break(),
            Block::Cell => self.space(),
            Block::Inline => {}
        }
    }

    fn finish(mut self) -> String {
        if !self.cur.is_empty() {
            self.finish_line(0);
        }
        self.lines.join("\n")
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_style_and_friends_never_reach_the_text() {
        let html = r#"<html><head><title>T</title><style>p { color: red }</style>
            <script>var x = "<p>not text</p>";</script></head>
            <body><p>Trước</p><script type="text/javascript">document.write('<b>x</b>')</script>
            <noscript>Bật JavaScript</noscript><template><p>khuôn</p></template>
            <!-- <p>chú thích</p> --><p>Sau</p><SCRIPT>alert(1)</SCRIPT></body></html>"#;
        let got = html_to_text(html);
        assert_eq!(got.text, "Trước\n\nSau");
        for leaked in [
            "color",
            "not text",
            "document",
            "JavaScript",
            "khuôn",
            "chú thích",
            "alert",
        ] {
            assert!(
                !got.text.contains(leaked),
                "{leaked} leaked into {:?}",
                got.text
            );
        }
    }

    #[test]
    fn page_chrome_is_dropped_but_article_header_is_kept() {
        let html = "<body><header><a>Trang chủ</a> | <a>Thời sự</a></header>\
            <nav><ul><li>Kinh tế</li><li>Xã hội</li></ul></nav>\
            <article><header><h1>Tiêu đề bài</h1></header><p>Nội dung chính.</p>\
            <aside>Tin liên quan</aside></article>\
            <footer>Đường dây nóng: 0912 345 678</footer></body>";
        let got = html_to_text(html);
        assert_eq!(got.text, "Tiêu đề bài\n\nNội dung chính.");
    }

    #[test]
    fn unclosed_chrome_element_does_not_swallow_the_page() {
        let got = html_to_text("<nav>Trang chủ<p>Bài viết vẫn còn.</p>");
        assert!(got.text.contains("Bài viết vẫn còn."), "{:?}", got.text);
    }

    #[test]
    fn entities_are_decoded() {
        let html = "<p>A&nbsp;&amp;&nbsp;B &quot;x&quot; &#39;y&#39; &lt;z&gt; &hellip; 1&ndash;2 \
            &mdash; &laquo;k&raquo; &ldquo;q&rdquo; &#7871; &#x1EA1; &#147;c&#148; \
            Vi&ecirc;&#803;t &Dstrok;&agrave; &amp &bogus; &#; &#0; &#x110000; AT&T</p>";
        let got = html_to_text(html);
        assert_eq!(
            got.text,
            "A & B \"x\" 'y' <z> … 1–2 — «k» “q” ế ạ “c” Việt Đà & &bogus; &#; \u{FFFD} \u{FFFD} AT&T"
        );
    }

    #[test]
    fn blocks_become_lines_and_paragraphs() {
        let html = "<div><p>Một   hai\n\t ba</p><p>Bốn <b>năm</b><i>sáu</i></p>\
            <ul><li>mục 1</li><li>mục <a href='#'>2</a></li></ul>\
            <p>dòng 1<br>dòng 2<br><br>đoạn mới</p>\
            <table><tr><td>Ô 1</td><td>Ô 2</td></tr><tr><td>Ô 3</td></tr></table></div>";
        let got = html_to_text(html);
        assert_eq!(
            got.text,
            "Một hai ba\n\nBốn nămsáu\n\nmục 1\nmục 2\n\ndòng 1\ndòng 2\n\nđoạn mới\n\nÔ 1 Ô 2\nÔ 3"
        );
    }

    #[test]
    fn nested_tags_and_pre() {
        let html = "<div><div><section><p><span><em><strong>Sâu</strong></em> lồng</span></p>\
            </section></div></div><pre>dòng a\ndòng   b</pre>";
        let got = html_to_text(html);
        assert_eq!(got.text, "Sâu lồng\n\ndòng a\ndòng b");
    }

    #[test]
    fn title_comes_from_title_then_h1() {
        let with_title = "<html><head><title>\n  Tiêu đề &amp; trang </title></head>\
            <body><svg><title>icon</title></svg><h1>Khác</h1></body></html>";
        assert_eq!(
            html_to_text(with_title).title.as_deref(),
            Some("Tiêu đề & trang")
        );
        let svg_first = "<svg><title>icon</title></svg><title>Thật</title>";
        assert_eq!(html_to_text(svg_first).title.as_deref(), Some("Thật"));
        let h1_only = "<body><header><h1>Logo báo</h1></header><article><h1>Bài <i>chính</i></h1>\
            <p>x</p></article></body>";
        assert_eq!(html_to_text(h1_only).title.as_deref(), Some("Bài chính"));
        let chrome_h1 = "<header><h1>Logo báo</h1></header><p>x</p>";
        assert_eq!(html_to_text(chrome_h1).title.as_deref(), Some("Logo báo"));
        assert_eq!(html_to_text("<p>không tiêu đề</p>").title, None);
        assert_eq!(html_to_text("<title>  </title><p>x</p>").title, None);
    }

    #[test]
    fn self_closed_scripts_still_hide_their_code() {
        let h = "<p>Trước.</p><script src=\"a.js\"/>var x = 1;</script><STYLE/>.a{}</style>\
            <p>Sau.</p>";
        assert_eq!(html_to_text(h).text, "Trước.\n\nSau.");
        // XHTML: no end tag, so the element really is empty and the text after it stays.
        let x = "<script src=\"a.js\"/><p>Còn lại.</p><script src=\"b.js\"/><p>Hết.</p>";
        assert_eq!(html_to_text(x).text, "Còn lại.\n\nHết.");
    }

    #[test]
    fn malformed_documents_do_not_panic_and_keep_text() {
        let cases = [
            "<p>Mở <b>không đóng <i>mãi",
            "</div></p>Thừa thẻ đóng</span>",
            "<p class=\"x>Trích dẫn hỏng</p><p>Tiếp</p>",
            "a < b và c<3 > d",
            "<!-- chú thích không đóng <p>mất",
            "<script>không đóng",
            "<p>Cắt giữa thẻ <a href=",
            "&#xFFFFFFFFFFFF; &#99999999999999999999; &",
            "<<>><</>",
            "<p>Việt Nam</p><",
            "\u{FEFF}<p>BOM</p>",
        ];
        for html in cases {
            let _ = html_to_text(html);
        }
        assert_eq!(
            html_to_text("<p>Mở <b>không đóng <i>mãi").text,
            "Mở không đóng mãi"
        );
        assert_eq!(
            html_to_text("</div></p>Thừa thẻ đóng</span>").text,
            "Thừa thẻ đóng"
        );
        assert_eq!(html_to_text("a < b và c<3 > d").text, "a < b và c<3 > d");
        assert_eq!(html_to_text("<!-- chú thích không đóng <p>mất").text, "");
        assert_eq!(html_to_text("<script>không đóng").text, "");
        assert_eq!(
            html_to_text("<p>Cắt giữa thẻ <a href=").text,
            "Cắt giữa thẻ"
        );
        assert_eq!(html_to_text("\u{FEFF}<p>BOM</p>").text, "BOM");
        let broken_quote = html_to_text("<p class=\"x>Trích dẫn hỏng</p><p>Tiếp</p>").text;
        assert!(broken_quote.contains("Tiếp"), "{broken_quote:?}");
    }

    #[test]
    fn cookie_banner_div_is_dropped() {
        let html = "<body><div class=\"cookie-banner\" id=\"cookie-consent\">\
            <p>Chúng tôi sử dụng cookie để cải thiện trải nghiệm.</p><button>Đồng ý</button></div>\
            <div class=\"thong-bao-cookie\">Trang web này sử dụng cookie.</div>\
            <div id=\"gdpr-banner\" class=\"banner\">Website sử dụng cookie.</div>\
            <article><h1>Tiêu đề</h1><p>Đoạn đầu của bài viết, dài hơn thông báo cookie.</p>\
            <p>Đoạn thứ hai của bài viết.</p></article></body>";
        let got = html_to_text(html);
        assert_eq!(
            got.text,
            "Tiêu đề\n\nĐoạn đầu của bài viết, dài hơn thông báo cookie.\n\nĐoạn thứ hai của bài viết."
        );
    }

    #[test]
    fn widgets_in_divs_are_dropped_like_nav() {
        let html =
            "<div class=\"top-bar\">Hà Nội, Thứ Bảy 18/05/2024 | <a>Đăng nhập</a> | RSS</div>\
            <div class=\"header\"><div class=\"logo\"><a>Báo Mẫu</a></div></div>\
            <div class=\"breadcrumb\"><a>Trang chủ</a> » <a>Kinh tế</a></div>\
            <div class=\"main\"><div class=\"article__cate\">Kinh tế</div><h1>Tiêu đề</h1>\
            <div class=\"article-body\"><p>Đoạn một.</p><div class=\"box-quangcao\">QC</div>\
            <p>Đoạn hai.</p></div><div class=\"social\">Chia sẻ: Facebook</div>\
            <ul class=\"tin-lien-quan\"><li>Bài khác</li></ul><div class=\"boxRelated\">Xem</div>\
            <div id=\"popup-dang-ky\">Đăng ký</div><div class=\"modal fade\">Hộp</div>\
            <div class=\"newsletter-form\">Nhận bản tin</div><a class=\"back-to-top\">Lên đầu</a>\
            <div class=\"fb-comments\">Bình luận</div></div>\
            <div class=\"footer\">Bản quyền</div>";
        let got = html_to_text(html);
        assert_eq!(got.text, "Tiêu đề\n\nĐoạn một.\n\nĐoạn hai.");
    }

    #[test]
    fn article_body_and_content_classes_are_kept() {
        for class in [
            "article-body",
            "news-content",
            "article__body",
            "sharepoint-article",
            "headline",
            "download-box",
            "no-ads",
            "adress",
            "detail-content fck_detail",
        ] {
            let html = format!("<div class=\"{class}\"><p>Nội dung.</p></div><p>Khác.</p>");
            assert_eq!(
                html_to_text(&html).text,
                "Nội dung.\n\nKhác.",
                "class={class}"
            );
        }
    }

    #[test]
    fn class_rule_matches_whole_parts_only() {
        let chrome = [
            "cookie-banner",
            "thong-bao-cookie",
            "cookieConsent",
            "gdpr",
            "ads",
            "banner-ads",
            "ad-slot",
            "advertisement",
            "quang-cao",
            "quangcao",
            "box_quangcao_right",
            "topbar",
            "top-bar",
            "header-top",
            "utility-bar",
            "breadcrumbs",
            "share",
            "article-share",
            "social-links",
            "comment-list",
            "related",
            "related-news",
            "box-related",
            "tin-lien-quan",
            "tinlienquan",
            "popup",
            "modal-dialog",
            "newsletter",
            "subscribe-box",
            "back-to-top",
            "article__cate",
            "site-logo",
            "navbar-brand",
            "site-name",
        ];
        for token in chrome {
            assert!(chrome_token(token).is_some(), "{token} should be chrome");
        }
        let content = [
            "article-body",
            "news-content",
            "sharepoint-article",
            "headline",
            "shadow",
            "loading",
            "adress",
            "download",
            "no-ads",
            "has-related",
            "toppage",
            "fck_detail",
            "",
        ];
        for token in content {
            assert_eq!(chrome_token(token), None, "{token} should not be chrome");
        }
        assert_eq!(chrome_token("header"), Some(Chrome::Masthead));
        assert_eq!(chrome_token("site-footer"), Some(Chrome::Masthead));
        assert_eq!(chrome_token("article-header"), None);
        assert_eq!(chrome_token("logo"), Some(Chrome::Logo));
    }

    #[test]
    fn chrome_wrapper_holding_the_headline_or_the_article_is_kept() {
        // A related-news class on the wrapper of the article itself.
        let html = "<div class=\"box-related detail\"><h1>Tiêu đề bài</h1><p>Câu ngắn.</p></div>\
            <div class=\"cookie\">Cookie.</div>";
        assert_eq!(html_to_text(html).text, "Tiêu đề bài\n\nCâu ngắn.");
        // No h1, but the wrapper holds most of the prose.
        let html = "<div class=\"share-wrap\"><p>Đoạn văn dài thứ nhất của bài báo.</p>\
            <p>Đoạn văn dài thứ hai của bài báo.</p></div><p>Cuối.</p>";
        assert!(html_to_text(html).text.contains("thứ hai"));
        // An h1 inside the logo is the masthead: it protects nothing when a headline exists.
        let html = "<div class=\"logo\"><h1>Báo Mẫu</h1></div><h1>Tiêu đề</h1><p>Thân bài.</p>";
        assert_eq!(html_to_text(html).text, "Tiêu đề\n\nThân bài.");
    }

    #[test]
    fn unclosed_chrome_div_does_not_swallow_the_article() {
        // The ad div is never closed, so it pairs with the wrapper's </div> and would cover
        // the whole article: it is kept instead.
        let html = "<div id=\"wrap\"><div class=\"ads\">QC<p>Đoạn một của bài.</p>\
            <p>Đoạn hai của bài.</p></div><footer>F</footer>";
        let got = html_to_text(html).text;
        assert!(
            got.contains("Đoạn một") && got.contains("Đoạn hai"),
            "{got:?}"
        );
        // No end tag at all.
        let got = html_to_text("<div class=\"popup\">Đăng ký<p>Bài viết vẫn còn.</p>").text;
        assert!(got.contains("Bài viết vẫn còn."), "{got:?}");
        // An unclosed chrome <p> ends at the next <p>; it does not pair with a later </p>.
        let got = html_to_text("<p class=\"share\">Chia sẻ<p>Bài viết.</p><p>Tiếp.</p>").text;
        assert!(
            got.contains("Bài viết.") && got.contains("Tiếp."),
            "{got:?}"
        );
    }

    #[test]
    fn attribute_quoting_variants() {
        let cases = [
            "<div class='cookie-banner'>Cookie</div>",
            "<div class=cookie-banner>Cookie</div>",
            "<DIV CLASS=\"COOKIE-BANNER\">Cookie</DIV>",
            "<div Class = \"x  cookie-banner\" >Cookie</div>",
            "<div data-a=\"class=x\" id='cookie-notice'>Cookie</div>",
            "<div title=\"a > b\" class=\"ads\">Cookie</div>",
            "<div\nclass=\"quang-cao\"\n>Cookie</div>",
            "<div class=\"ads\"/>Cookie</div>",
        ];
        for case in cases {
            let html = format!("<p>Trước.</p>{case}<p>Sau.</p>");
            assert_eq!(html_to_text(&html).text, "Trước.\n\nSau.", "{case}");
        }
        // The first `class` counts, as in browsers: the parser drops a repeated attribute.
        assert_eq!(
            html_to_text("<p>Trước.</p><div CLASS='ads' class=\"body\">QC</div><p>Sau.</p>").text,
            "Trước.\n\nSau."
        );
        assert!(
            html_to_text("<p>Trước.</p><div class=\"body\" class='ads'>Giữ</div><p>Sau.</p>")
                .text
                .contains("Giữ")
        );
    }

    #[test]
    fn header_class_inside_the_article_is_kept() {
        let html = "<div class=\"header\">Báo Mẫu</div><article><div class=\"header\">\
            <h2>Phụ đề</h2></div><p>Thân.</p><div class=\"footer\">Tác giả: A</div></article>";
        assert_eq!(html_to_text(html).text, "Phụ đề\n\nThân.\n\nTác giả: A");
    }

    #[test]
    fn skipped_element_still_separates_text() {
        assert_eq!(
            html_to_text("Trước<div class=\"ads\">QC</div>Sau").text,
            "Trước\n\nSau"
        );
        assert_eq!(html_to_text("Trước<nav>Menu</nav>Sau").text, "Trước\n\nSau");
    }

    #[test]
    fn broken_pages_are_read_as_browsers_read_them() {
        // Unclosed <p>s end at the next block; stray end tags are ignored.
        let got = html_to_text(
            "</div></div><div class=\"article-body\"><h1>Tiêu đề</h1><p>Đoạn một.\
             <p>Đoạn hai.</div><p>Đoạn ba.</span></b></div>",
        );
        assert_eq!(got.text, "Tiêu đề\n\nĐoạn một.\n\nĐoạn hai.\n\nĐoạn ba.");
        // Every HTML5 reference, with the browsers' legacy forms without a semicolon.
        let got = html_to_text(
            "<p>Hi&#7879;u l&#7921;c t&#7915; ng&agrave;y&nbsp;22/10, 4,8&percnt;, &times 2, \
             &eacute &hyphen; &colon; &Dstrok;&agrave; &amp;amp; &bogus;</p>",
        );
        assert_eq!(
            got.text,
            "Hiệu lực từ ngày 22/10, 4,8%, × 2, é \u{2010} : Đà &amp; &bogus;"
        );
        // Markup-looking strings inside scripts and styles, comments, and CDATA (a bogus comment
        // in HTML; text inside <svg>, which is skipped whole).
        let got = html_to_text(
            "<style>p:after{content:\"</p><p>lọt</p>\"}</style><p>Một.</p>\
             <script>if (a < b) document.write(\"<div>lọt</div>\")</script>\
             <!-- <p>lọt</p> --><![CDATA[ lọt ]]><p>Hai<!-- x -->ba.</p>\
             <svg><![CDATA[ lọt ]]><text>lọt</text></svg>",
        );
        assert_eq!(got.text, "Một.\n\nHaiba.");
        // Text placed inside a <table> but outside its cells is shown before the table.
        assert_eq!(
            html_to_text("<table>Chú thích<tr><td>Ô 1<td>Ô 2</table>").text,
            "Chú thích\n\nÔ 1 Ô 2"
        );
        // Misnested formatting is repaired (the adoption agency algorithm), not dropped.
        assert_eq!(
            html_to_text("<p>Doanh nghiệp <b>nhỏ và <i>vừa</b> cần</i> vốn.</p>").text,
            "Doanh nghiệp nhỏ và vừa cần vốn."
        );
    }

    #[test]
    fn unclosed_chrome_inside_the_article_ends_where_the_parser_ends_it() {
        // The share div is never closed; </article> closes it, so it holds only the share
        // links and the related box, and is dropped. The unclosed footer runs to the end of the
        // file and holds nothing else either.
        let html = "<nav><a>Trang chủ</a><article><h1>Tiêu đề</h1>\
            <p>Đoạn một của bài viết khá dài.</p><p>Đoạn hai của bài viết khá dài.</p>\
            <div class=\"social\">Chia sẻ: Facebook<div class=\"box-related\">Tin khác</div>\
            </article><footer>Bản quyền © 2024";
        assert_eq!(
            html_to_text(html).text,
            "Trang chủ\n\nTiêu đề\n\nĐoạn một của bài viết khá dài.\n\nĐoạn hai của bài viết khá dài."
        );
    }

    #[test]
    fn a_runaway_attribute_quote_does_not_eat_the_rest_of_the_page() {
        for html in [
            "<p>Trước.</p><p class=\"sapo>Đoạn giữa.</p><p>Đoạn cuối.</p>",
            "<p>Trước.</p><p class='sapo>Đoạn giữa.</p><p>Đoạn cuối.</p>",
        ] {
            assert_eq!(
                html_to_text(html).text,
                "Trước.\n\nĐoạn giữa.\n\nĐoạn cuối.",
                "{html}"
            );
        }
        // Quotes that do close are left alone, `>` inside them included.
        assert_eq!(
            html_to_text("<p title=\"a > b\">Một.</p><p class='x'>Hai.</p>").text,
            "Một.\n\nHai."
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let html = format!("{}<p>Sâu.</p>", "<div>".repeat(200_000));
        assert_eq!(html_to_text(&html).text, "Sâu.");
        // Also when the depth comes from inline elements between the blocks.
        let html = "<b id=x><div>Dòng.</div>".repeat(20_000);
        let started = std::time::Instant::now();
        let got = html_to_text(&html).text;
        assert_eq!(got.lines().filter(|l| *l == "Dòng.").count(), 20_000);
        // Quadratic parsing took seconds here; the cap keeps it well under one.
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn output_is_nfc() {
        // "ệ" written as e + circumflex + dot below.
        let got = html_to_text("<p>Vie\u{0302}\u{0323}t</p>");
        assert_eq!(got.text, "Việt");
    }
}
