//! Bit fields of the index: fixed-width fields and Elias-gamma codes, low bits first, in a byte
//! array read eight bytes at a time.
//!
//! A field of up to 57 bits at any bit position is one unaligned 64-bit load, a shift and a mask,
//! so the index can pack word ids, offsets and counts to exactly the bits they need and still be
//! read in a few instructions. The array ends with [`PAD`] zero bytes so that the load of a field
//! near its end stays in bounds.

/// Zero bytes after the last block, so that every field is read with one 8-byte load.
pub(crate) const PAD: usize = 8;

/// The widest field [`get`] reads in one load.
pub(crate) const MAX_FIELD: u32 = 57;

/// The bits needed to write every number below or equal to `max` (1 for 0).
#[inline]
pub(crate) fn width(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

/// The `w`-bit field (`w` ≤ [`MAX_FIELD`]) at bit `pos` of `data`. `data` must hold [`PAD`]
/// bytes after the field's last byte, as the index does.
#[inline(always)]
pub(crate) fn get(data: &[u8], pos: u64, w: u32) -> u64 {
    debug_assert!(w <= MAX_FIELD);
    let at = (pos >> 3) as usize;
    let word = match data.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        None => 0,
    };
    (word >> (pos & 7)) & mask(w)
}

/// The 64-bit field at bit `pos` (two loads).
#[inline]
pub(crate) fn get64(data: &[u8], pos: u64) -> u64 {
    get(data, pos, 32) | get(data, pos + 32, 32) << 32
}

#[inline(always)]
fn mask(w: u32) -> u64 {
    (1u64 << w) - 1
}

/// The length in bits of the Elias-gamma code of `v` ≥ 1.
#[inline]
pub(crate) fn gamma_len(v: u64) -> u32 {
    2 * width(v) - 1
}

/// Decodes the Elias-gamma code at `*pos` (as [`Writer::gamma`] writes it: as many zero bits as
/// the value has bits after its leading one, a one, then those bits) and moves `*pos` past it.
#[inline(always)]
pub(crate) fn gamma(data: &[u8], pos: &mut u64) -> u64 {
    let x = get(data, *pos, MAX_FIELD);
    let z = x.trailing_zeros();
    if 2 * z < MAX_FIELD {
        *pos += 2 * z as u64 + 1;
        return (1 << z) | ((x >> (z + 1)) & mask(z));
    }
    gamma_long(data, pos)
}

/// [`gamma`] for values of 29 bits or more (never met in practice: counts that large).
#[inline(never)]
fn gamma_long(data: &[u8], pos: &mut u64) -> u64 {
    let mut z = 0u32;
    while z < 63 && get(data, *pos + z as u64, 1) == 0 {
        z += 1;
    }
    let low = *pos + z as u64 + 1;
    let rest = if z > 32 {
        get(data, low, 32) | get(data, low + 32, z - 32) << 32
    } else {
        get(data, low, z)
    };
    *pos = low + z as u64;
    (1 << z) | rest
}

/// Writes one block: fields appended at a bit position, into a zeroed scratch buffer that is
/// then copied out whole (blocks are byte-aligned, so a block never shares a byte with another).
///
/// The byte being filled is kept in a register and every field is one plain 8-byte store: a
/// read-modify-write of the bytes the last field wrote would wait for that store to land (a
/// store-forwarding stall on every field, which made half of a load's build time).
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
    pos: u64,
    /// The bits of the byte at `pos / 8` below `pos % 8` (all higher bits 0).
    acc: u64,
}

impl Writer {
    /// Starts a block of `bytes` bytes.
    pub(crate) fn start(&mut self, bytes: usize) {
        self.buf.clear();
        self.buf.resize(bytes + PAD, 0);
        self.pos = 0;
        self.acc = 0;
    }

    /// Appends the low `w` bits of `v` (`w` ≤ [`MAX_FIELD`]).
    #[inline(always)]
    pub(crate) fn put(&mut self, v: u64, w: u32) {
        debug_assert!(w <= MAX_FIELD && (w == 64 || v >> w == 0));
        let at = (self.pos >> 3) as usize;
        // At most 7 + 57 bits: all fit, and the bytes above them are still unwritten zeros.
        let acc = self.acc | v << (self.pos & 7);
        if let Some(b) = self.buf.get_mut(at..at + 8) {
            b.copy_from_slice(&acc.to_le_bytes());
        }
        self.pos += w as u64;
        let done = (self.pos >> 3) as usize - at;
        self.acc = acc.checked_shr(8 * done as u32).unwrap_or(0);
    }

    /// Appends all 64 bits of `v`.
    pub(crate) fn put64(&mut self, v: u64) {
        self.put(v & 0xFFFF_FFFF, 32);
        self.put(v >> 32, 32);
    }

    /// Appends the Elias-gamma code of `v` ≥ 1 (see [`gamma`]).
    #[inline]
    pub(crate) fn gamma(&mut self, v: u64) {
        let z = width(v) - 1;
        self.put(0, z.min(32));
        self.put(0, z.saturating_sub(32));
        self.put(1, 1);
        let rest = v & ((1u64 << z) - 1);
        if z > 32 {
            self.put(rest & 0xFFFF_FFFF, 32);
            self.put(rest >> 32, z - 32);
        } else {
            self.put(rest, z);
        }
    }

    /// Bits written so far.
    pub(crate) fn bits(&self) -> u64 {
        self.pos
    }

    /// Writes all 64 bits of `v` at bit `pos`, over bits written as zeros, leaving the write
    /// position where it is (for fields filled in once what follows them is written).
    pub(crate) fn put64_at(&mut self, pos: u64, v: u64) {
        for (k, half) in [(0, v & 0xFFFF_FFFF), (32, v >> 32)] {
            let p = pos + k;
            let at = (p >> 3) as usize;
            if let Some(b) = self.buf.get_mut(at..at + 8) {
                let old = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
                b.copy_from_slice(&(old | half << (p & 7)).to_le_bytes());
            }
        }
    }

    /// The block's bytes and the padding after them, as [`get`] reads them.
    pub(crate) fn bytes_padded(&self) -> &[u8] {
        &self.buf
    }

    /// The block's bytes (without the padding).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.buf.len() - PAD]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_gamma_codes_read_back() {
        let values: Vec<u64> = vec![
            1,
            2,
            3,
            7,
            8,
            1 << 20,
            (1 << 28) - 1,
            1 << 28,
            (1 << 29) + 5,
            u32::MAX as u64,
            1 << 40,
            u64::MAX,
        ];
        let mut w = Writer::default();
        w.start(200);
        for &v in &values {
            w.put(v & 0x1F, 5);
            w.gamma(v);
            w.put64(v);
        }
        let total = w.bits();
        let mut data = w.bytes().to_vec();
        data.extend([0; PAD]);
        let mut pos = 0;
        for &v in &values {
            assert_eq!(get(&data, pos, 5), v & 0x1F);
            pos += 5;
            assert_eq!(gamma(&data, &mut pos), v, "gamma of {v}");
            assert_eq!(get64(&data, pos), v);
            pos += 64;
        }
        assert_eq!(pos, total);
        // A field filled in later, between fields already written, leaves them as they are.
        let mut w = Writer::default();
        w.start(40);
        w.put(0x1F, 5);
        w.put64(0);
        w.put(0x1ABC, 13);
        w.put64_at(5, 0x0123_4567_89AB_CDEF);
        let mut data = w.bytes().to_vec();
        data.extend([0; PAD]);
        assert_eq!(get(&data, 0, 5), 0x1F);
        assert_eq!(get64(&data, 5), 0x0123_4567_89AB_CDEF);
        assert_eq!(get(&data, 69, 13), 0x1ABC);
        for v in [1u64, 2, 3, 4, 1 << 33] {
            assert_eq!(gamma_len(v), {
                let mut w = Writer::default();
                w.start(32);
                w.gamma(v);
                w.bits() as u32
            });
        }
    }
}
