//! Zip files without a crate: a writer for STORED archives (enough for a wheel) and a reader
//! that handles STORED and DEFLATED members (real wheels), with a small inflate (RFC 1951,
//! after zlib's puff.c).

use super::crc32;

/// A STORED (uncompressed) zip of `members` (name, bytes).
pub fn write_stored(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    // 1980-01-01 00:00 in DOS format.
    let (time, date) = (0u16, (0u16 << 9) | (1 << 5) | 1);
    for (name, data) in members {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&date.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: unix, 2.0
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&time.to_le_bytes());
        central.extend_from_slice(&date.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external: -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn u16_at(b: &[u8], i: usize) -> usize {
    u16::from_le_bytes([b[i], b[i + 1]]) as usize
}
fn u32_at(b: &[u8], i: usize) -> usize {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as usize
}

/// Names of the members of a zip (from the central directory).
pub fn list(zip: &[u8]) -> Result<Vec<String>, String> {
    Ok(entries(zip)?.into_iter().map(|e| e.name).collect())
}

struct Entry {
    name: String,
    method: usize,
    crc: u32,
    comp: usize,
    size: usize,
    local: usize,
}

fn entries(zip: &[u8]) -> Result<Vec<Entry>, String> {
    let eocd = (0..zip.len().saturating_sub(21))
        .rev()
        .take(65_557)
        .find(|&i| zip[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or("no end of central directory record")?;
    let n = u16_at(zip, eocd + 10);
    let mut p = u32_at(zip, eocd + 16);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if p + 46 > zip.len() || u32_at(zip, p) != 0x0201_4b50 {
            return Err("bad central directory entry".into());
        }
        let name_len = u16_at(zip, p + 28);
        let extra = u16_at(zip, p + 30);
        let comment = u16_at(zip, p + 32);
        let comp = u32_at(zip, p + 20);
        let size = u32_at(zip, p + 24);
        if comp == 0xFFFF_FFFF || size == 0xFFFF_FFFF {
            return Err("zip64 is not supported by this test reader".into());
        }
        out.push(Entry {
            name: String::from_utf8_lossy(&zip[p + 46..p + 46 + name_len]).into_owned(),
            method: u16_at(zip, p + 10),
            crc: u32_at(zip, p + 16) as u32,
            comp,
            size,
            local: u32_at(zip, p + 42),
        });
        p += 46 + name_len + extra + comment;
    }
    Ok(out)
}

/// The bytes of one member, CRC-checked.
pub fn read_member(zip: &[u8], name: &str) -> Result<Vec<u8>, String> {
    let e = entries(zip)?
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("no member {name}"))?;
    let l = e.local;
    if u32_at(zip, l) != 0x0403_4b50 {
        return Err("bad local header".into());
    }
    let start = l + 30 + u16_at(zip, l + 26) + u16_at(zip, l + 28);
    let data = zip
        .get(start..start + e.comp)
        .ok_or("member runs past the end")?;
    let out = match e.method {
        0 => data.to_vec(),
        8 => inflate(data, e.size)?,
        m => return Err(format!("compression method {m} is not supported")),
    };
    if out.len() != e.size {
        return Err(format!("{name}: {} bytes, expected {}", out.len(), e.size));
    }
    if crc32(&out) != e.crc {
        return Err(format!("{name}: CRC mismatch"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Inflate

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    cnt: u32,
}

impl Bits<'_> {
    #[inline]
    fn need(&mut self, n: u32) -> Result<(), String> {
        while self.cnt < n {
            let b = *self.data.get(self.pos).ok_or("deflate stream ends early")?;
            self.pos += 1;
            self.buf |= (b as u64) << self.cnt;
            self.cnt += 8;
        }
        Ok(())
    }
    #[inline]
    fn bits(&mut self, n: u32) -> Result<u32, String> {
        if n == 0 {
            return Ok(0);
        }
        self.need(n)?;
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.cnt -= n;
        Ok(v)
    }
}

/// Canonical Huffman code with a 10-bit lookup table and a bit-by-bit slow path.
struct Huffman {
    count: [u16; 16],
    symbol: Vec<u16>,
    /// (symbol, length) for codes of at most FAST bits, indexed by the next FAST input bits
    /// (LSB first); length 0 means "longer code: use the slow path".
    fast: Vec<(u16, u8)>,
}

const FAST: u32 = 10;

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, String> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        let mut offs = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + count[len];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[offs[l as usize] as usize] = s as u16;
                offs[l as usize] += 1;
            }
        }
        // Fast table: assign canonical codes and fill every slot whose low bits match.
        let mut fast = vec![(0u16, 0u8); 1 << FAST];
        let mut code: u32 = 0;
        let mut idx = 0usize;
        for len in 1..=15u32 {
            for _ in 0..count[len as usize] {
                if len <= FAST {
                    // Codes are sent MSB first: reverse to index by LSB-first input.
                    let mut rev = 0u32;
                    for i in 0..len {
                        rev |= ((code >> i) & 1) << (len - 1 - i);
                    }
                    let step = 1u32 << len;
                    let mut slot = rev;
                    while slot < (1 << FAST) {
                        fast[slot as usize] = (symbol[idx], len as u8);
                        slot += step;
                    }
                }
                code += 1;
                idx += 1;
            }
            code <<= 1;
        }
        Ok(Huffman {
            count,
            symbol,
            fast,
        })
    }

    #[inline]
    fn decode(&self, s: &mut Bits) -> Result<u16, String> {
        // Fill what we can for the fast path without failing near the end of the stream.
        while s.cnt < FAST && s.pos < s.data.len() {
            s.buf |= (s.data[s.pos] as u64) << s.cnt;
            s.pos += 1;
            s.cnt += 8;
        }
        if s.cnt >= FAST {
            let (sym, len) = self.fast[(s.buf & ((1 << FAST) - 1)) as usize];
            if len != 0 {
                s.buf >>= len;
                s.cnt -= len as u32;
                return Ok(sym);
            }
        }
        // Slow path (puff.c).
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= s.bits(1)? as i32;
            let count = self.count[len] as i32;
            if code - count < first {
                return Ok(self.symbol[(index + (code - first)) as usize]);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("bad Huffman code".into())
    }
}

const LBASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Raw DEFLATE (as in zip members).
pub fn inflate(data: &[u8], size_hint: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(size_hint);
    let mut s = Bits {
        data,
        pos: 0,
        buf: 0,
        cnt: 0,
    };
    let fixed = {
        let mut l = [0u8; 288];
        l[..144].fill(8);
        l[144..256].fill(9);
        l[256..280].fill(7);
        l[280..].fill(8);
        (Huffman::new(&l)?, Huffman::new(&[5u8; 30])?)
    };
    loop {
        let last = s.bits(1)?;
        match s.bits(2)? {
            0 => {
                // Stored block: drop to a byte boundary.
                s.buf = 0;
                s.cnt = 0;
                let p = s.pos;
                let b = data
                    .get(p..p + 4)
                    .ok_or("stored block header past the end")?;
                let len = u16::from_le_bytes([b[0], b[1]]) as usize;
                let nlen = u16::from_le_bytes([b[2], b[3]]) as usize;
                if len != !nlen & 0xFFFF {
                    return Err("stored block length check failed".into());
                }
                out.extend_from_slice(
                    data.get(p + 4..p + 4 + len)
                        .ok_or("stored block past the end")?,
                );
                s.pos = p + 4 + len;
            }
            1 => codes(&mut s, &mut out, &fixed.0, &fixed.1)?,
            2 => {
                let nlen = s.bits(5)? as usize + 257;
                let ndist = s.bits(5)? as usize + 1;
                let ncode = s.bits(4)? as usize + 4;
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut cl = [0u8; 19];
                for &o in ORDER.iter().take(ncode) {
                    cl[o] = s.bits(3)? as u8;
                }
                let clh = Huffman::new(&cl)?;
                let mut lengths = vec![0u8; nlen + ndist];
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = clh.decode(&mut s)?;
                    if sym < 16 {
                        lengths[i] = sym as u8;
                        i += 1;
                    } else {
                        let (val, rep) = match sym {
                            16 => {
                                let prev = *lengths
                                    .get(i.wrapping_sub(1))
                                    .ok_or("repeat with no previous length")?;
                                (prev, 3 + s.bits(2)? as usize)
                            }
                            17 => (0, 3 + s.bits(3)? as usize),
                            _ => (0, 11 + s.bits(7)? as usize),
                        };
                        if i + rep > nlen + ndist {
                            return Err("too many lengths".into());
                        }
                        lengths[i..i + rep].fill(val);
                        i += rep;
                    }
                }
                let lh = Huffman::new(&lengths[..nlen])?;
                let dh = Huffman::new(&lengths[nlen..])?;
                codes(&mut s, &mut out, &lh, &dh)?;
            }
            _ => return Err("invalid block type".into()),
        }
        if last == 1 {
            break;
        }
    }
    Ok(out)
}

fn codes(s: &mut Bits, out: &mut Vec<u8>, lh: &Huffman, dh: &Huffman) -> Result<(), String> {
    loop {
        let sym = lh.decode(s)? as usize;
        if sym < 256 {
            out.push(sym as u8);
        } else if sym == 256 {
            return Ok(());
        } else {
            let i = sym - 257;
            if i >= 29 {
                return Err("bad length symbol".into());
            }
            let len = LBASE[i] as usize + s.bits(LEXT[i] as u32)? as usize;
            let d = dh.decode(s)? as usize;
            if d >= 30 {
                return Err("bad distance symbol".into());
            }
            let dist = DBASE[d] as usize + s.bits(DEXT[d] as u32)? as usize;
            if dist > out.len() {
                return Err("distance too far back".into());
            }
            let start = out.len() - dist;
            if dist >= len {
                out.extend_from_within(start..start + len);
            } else {
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
}
