//! Bidirectional flow keys: the 5-tuple (plus IP version) in a fixed-size `Copy` form.
use crate::ingest::decode::{addr, Packet};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// A 5-tuple oriented from `a` to `b`. Addresses use the 16-byte form of
/// [`Packet`](crate::ingest::decode::Packet) (IPv4 in the first 4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub a: [u8; 16],
    pub b: [u8; 16],
    pub port_a: u16,
    pub port_b: u16,
    pub proto: u8,
    pub ip_version: u8,
}

impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Four address words and one word of ports/protocol: fewer, wider hasher rounds.
        let w = |x: &[u8; 16], i: usize| {
            u64::from_ne_bytes([x[i], x[i + 1], x[i + 2], x[i + 3], x[i + 4], x[i + 5], x[i + 6], x[i + 7]])
        };
        h.write_u64(w(&self.a, 0));
        h.write_u64(w(&self.a, 8));
        h.write_u64(w(&self.b, 0));
        h.write_u64(w(&self.b, 8));
        h.write_u64(
            (self.port_a as u64)
                | (self.port_b as u64) << 16
                | (self.proto as u64) << 32
                | (self.ip_version as u64) << 40,
        );
    }
}

impl FlowKey {
    /// Oriented from the packet's sender to its receiver.
    #[inline]
    pub fn from_packet(p: &Packet) -> Self {
        FlowKey { a: p.src, b: p.dst, port_a: p.sport, port_b: p.dport, proto: p.proto, ip_version: p.ip_version }
    }

    /// From parsed endpoints; `None` when the two addresses are of different IP versions.
    pub fn from_endpoints(proto: u8, a: IpAddr, port_a: u16, b: IpAddr, port_b: u16) -> Option<Self> {
        let bytes = |ip: IpAddr| match ip {
            IpAddr::V4(v) => {
                let mut x = [0u8; 16];
                x[..4].copy_from_slice(&v.octets());
                (4u8, x)
            }
            IpAddr::V6(v) => (6u8, v.octets()),
        };
        let ((va, a), (vb, b)) = (bytes(a), bytes(b));
        (va == vb).then_some(FlowKey { a, b, port_a, port_b, proto, ip_version: va })
    }

    pub fn reverse(&self) -> Self {
        FlowKey { a: self.b, b: self.a, port_a: self.port_b, port_b: self.port_a, ..*self }
    }

    /// Is `a` the smaller endpoint (address, then port)?
    #[inline]
    pub fn is_canonical(&self) -> bool {
        (self.a, self.port_a) <= (self.b, self.port_b)
    }

    /// The same key for both directions of a flow.
    #[inline]
    pub fn canonical(&self) -> Self {
        if self.is_canonical() {
            *self
        } else {
            self.reverse()
        }
    }

    pub fn ip_a(&self) -> IpAddr {
        addr(self.ip_version, &self.a)
    }
    pub fn ip_b(&self) -> IpAddr {
        addr(self.ip_version, &self.b)
    }

    /// A 64-bit hash stable across runs and platforms (shard choice must not vary).
    #[inline]
    pub fn stable_hash(&self) -> u64 {
        let mut h = rustc_hash::FxHasher::default();
        self.hash(&mut h);
        crate::dataset::reservoir::mix64(h.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn canonical_is_direction_free() {
        let k =
            FlowKey::from_endpoints(6, "10.0.0.2".parse().unwrap(), 443, "10.0.0.1".parse().unwrap(), 5000).unwrap();
        assert!(!k.is_canonical());
        assert_eq!(k.canonical(), k.reverse().canonical());
        assert_eq!(k.reverse().reverse(), k);
        assert_eq!(k.canonical().ip_a().to_string(), "10.0.0.1");
        // Both directions of a flow land in the same shard; another flow (most likely) not.
        assert_eq!(k.canonical().stable_hash(), k.reverse().canonical().stable_hash());
        let other =
            FlowKey::from_endpoints(6, "10.0.0.2".parse().unwrap(), 444, "10.0.0.1".parse().unwrap(), 5000).unwrap();
        assert_ne!(k.canonical().stable_hash(), other.canonical().stable_hash());
        assert!(FlowKey::from_endpoints(6, "10.0.0.2".parse().unwrap(), 1, "::1".parse().unwrap(), 2).is_none());
        // same address, ports decide
        let s = FlowKey::from_endpoints(17, "1.1.1.1".parse().unwrap(), 9, "1.1.1.1".parse().unwrap(), 8).unwrap();
        assert_eq!(s.canonical().port_a, 8);
    }
}
