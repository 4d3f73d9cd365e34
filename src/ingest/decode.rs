//! Frame → flat [`Packet`] record, decoded once. One dispatch from the link type to "where the
//! IP header starts", then one IPv4/IPv6 path and one TCP/UDP path for every link type.
//! Every slice access is bounds-checked: malformed frames become a [`Skip`] reason, never a panic.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One TCP or UDP packet. Addresses are 16-byte arrays (IPv4 in the first 4 bytes, rest zero)
/// so the record is `Copy` and needs no allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Packet {
    /// µs since the Unix epoch.
    pub ts_us: i64,
    /// Index of the frame in its file.
    pub index: u64,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    /// 6 TCP, 17 UDP.
    pub proto: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// TCP flags byte (0 for UDP).
    pub tcp_flags: u8,
    /// Packet size from the IP header (total length; IPv6: 40 + payload length), so snap-length
    /// truncation does not shrink it. From the wire length when the header holds 0 (TSO captures).
    pub ip_len: u32,
    /// TCP sequence number (0 for UDP).
    pub tcp_seq: u32,
    /// Transport payload bytes implied by the IP length and header lengths.
    pub payload_len: u32,
}

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_FIN: u8 = 0x01;

impl Packet {
    pub fn src_ip(&self) -> IpAddr {
        addr(self.ip_version, &self.src)
    }
    pub fn dst_ip(&self) -> IpAddr {
        addr(self.ip_version, &self.dst)
    }
}

/// The 16-byte address form back to an `IpAddr`.
pub fn addr(version: u8, a: &[u8; 16]) -> IpAddr {
    if version == 4 {
        IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*a))
    }
}

/// Why a frame produced no packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// Link type not decoded (counted per link type by the caller).
    LinkType,
    /// Not IPv4/IPv6 (ARP, LLDP, STP, …).
    NotIp,
    /// Frame shorter than its link-layer header.
    TruncatedLink,
    /// Version or header-length fields invalid.
    BadIpHeader,
    /// IP header (with options / extension headers) not fully captured.
    TruncatedIp,
    /// Non-first IP fragment: no transport header.
    Fragment,
    /// IP but neither TCP nor UDP (ICMP, ESP, GRE, …).
    NotTcpUdp,
    /// TCP/UDP header not captured far enough for ports (UDP) or flags (TCP).
    TruncatedTransport,
}

impl Skip {
    pub const ALL: [Skip; 8] = [
        Skip::LinkType,
        Skip::NotIp,
        Skip::TruncatedLink,
        Skip::BadIpHeader,
        Skip::TruncatedIp,
        Skip::Fragment,
        Skip::NotTcpUdp,
        Skip::TruncatedTransport,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Skip::LinkType => "unsupported link type",
            Skip::NotIp => "not IP",
            Skip::TruncatedLink => "truncated link header",
            Skip::BadIpHeader => "bad IP header",
            Skip::TruncatedIp => "truncated IP header",
            Skip::Fragment => "non-first fragment",
            Skip::NotTcpUdp => "not TCP/UDP",
            Skip::TruncatedTransport => "truncated TCP/UDP header",
        }
    }
}

/// Per-reason counters, indexed by `Skip as usize`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipCounts(pub [u64; 8]);

impl SkipCounts {
    #[inline]
    pub fn add(&mut self, s: Skip) {
        self.0[s as usize] += 1;
    }
    pub fn merge(&mut self, o: &SkipCounts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    pub fn get(&self, s: Skip) -> u64 {
        self.0[s as usize]
    }
}

/// Link types with a decoder.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const PPP: u32 = 9;
    pub const RAW_DLT12: u32 = 12;
    pub const RAW_DLT14: u32 = 14;
    pub const PPP_HDLC: u32 = 50;
    pub const PPP_ETHER: u32 = 51;
    pub const RAW: u32 = 101;
    pub const C_HDLC: u32 = 104;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const PPI: u32 = 192;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}
#[inline]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// IP version expected at the start of the network layer: 4, 6, or 0 = read the version nibble.
type Start = Result<(usize, u8), Skip>;

/// Where the IP header starts in a frame of this link type.
pub fn ip_start(linktype: u32, d: &[u8]) -> Start {
    use linktype::*;
    match linktype {
        ETHERNET => ethertype_chain(d, 12, 14),
        LINUX_SLL => ethertype_chain(d, 14, 16),
        LINUX_SLL2 => ethertype_chain(d, 0, 20),
        RAW | RAW_DLT12 | RAW_DLT14 => Ok((0, 0)),
        IPV4 => Ok((0, 4)),
        IPV6 => Ok((0, 6)),
        NULL | LOOP => {
            let b = d.get(0..4).ok_or(Skip::TruncatedLink)?;
            // NULL is host byte order of the capturing machine: accept both.
            let fam = |f: u32| match f {
                2 => Some(4),
                10 | 24 | 28 | 30 => Some(6),
                _ => None,
            };
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            fam(le).or(fam(be)).map(|v| (4, v)).ok_or(Skip::NotIp)
        }
        PPP | PPP_HDLC => ppp(d, 0),
        // PPPoE session header (6 bytes) without the Ethernet header.
        PPP_ETHER => ppp(d, 6),
        C_HDLC => ethertype_chain(d, 2, 4),
        PPI => {
            let len = u16::from_le_bytes([*d.get(2).ok_or(Skip::TruncatedLink)?, *d.get(3).ok_or(Skip::TruncatedLink)?])
                as usize;
            let inner = d.get(4..8).ok_or(Skip::TruncatedLink)?;
            let dlt = u32::from_le_bytes([inner[0], inner[1], inner[2], inner[3]]);
            if dlt == PPI || len < 8 {
                return Err(Skip::LinkType);
            }
            let rest = d.get(len..).ok_or(Skip::TruncatedLink)?;
            ip_start(dlt, rest).map(|(o, v)| (o + len, v))
        }
        _ => Err(Skip::LinkType),
    }
}

/// Follow an ethertype at `et_at` whose payload starts at `payload`, through VLAN tags
/// (802.1Q, QinQ), PPPoE sessions and MPLS label stacks.
fn ethertype_chain(d: &[u8], et_at: usize, payload: usize) -> Start {
    let mut et = be16(d, et_at).ok_or(Skip::TruncatedLink)?;
    let mut p = payload;
    for _ in 0..8 {
        match et {
            0x0800 => return Ok((p, 4)),
            0x86dd => return Ok((p, 6)),
            0x8100 | 0x88a8 | 0x9100 | 0x9200 => {
                et = be16(d, p + 2).ok_or(Skip::TruncatedLink)?;
                p += 4;
            }
            0x8864 => return ppp(d, p + 6),
            0x8847 | 0x8848 => {
                for _ in 0..16 {
                    let bos = d.get(p + 2).ok_or(Skip::TruncatedLink)? & 1;
                    p += 4;
                    if bos == 1 {
                        return Ok((p, 0));
                    }
                }
                return Err(Skip::NotIp);
            }
            _ => return Err(Skip::NotIp),
        }
    }
    Err(Skip::NotIp)
}

/// PPP frame at `at`: optional address/control bytes, then a 1- or 2-byte protocol field.
fn ppp(d: &[u8], at: usize) -> Start {
    let mut p = at;
    if d.get(p) == Some(&0xff) && d.get(p + 1) == Some(&0x03) {
        p += 2;
    }
    let first = *d.get(p).ok_or(Skip::TruncatedLink)?;
    // Protocol-field compression: an odd first byte is a 1-byte protocol.
    let (proto, len) = if first & 1 == 1 { (first as u16, 1) } else { (be16(d, p).ok_or(Skip::TruncatedLink)?, 2) };
    match proto {
        0x0021 => Ok((p + len, 4)),
        0x0057 => Ok((p + len, 6)),
        _ => Err(Skip::NotIp),
    }
}

/// Decode a frame into a packet record.
pub fn decode(linktype: u32, d: &[u8], orig_len: u32, ts_us: i64, index: u64) -> Result<Packet, Skip> {
    let (off, want) = ip_start(linktype, d)?;
    let ip = d.get(off..).ok_or(Skip::TruncatedLink)?;
    let wire = orig_len.saturating_sub(off as u32);
    let version = ip.first().ok_or(Skip::TruncatedIp)? >> 4;
    if want != 0 && version != want {
        return Err(Skip::BadIpHeader);
    }
    let mut pkt = Packet { ts_us, index, ip_version: version, ..Packet::default() };
    let (proto, t_off) = match version {
        4 => ipv4(ip, wire, &mut pkt)?,
        6 => ipv6(ip, wire, &mut pkt)?,
        _ => return Err(if want == 0 && off == 0 { Skip::BadIpHeader } else { Skip::NotIp }),
    };
    transport(ip, t_off, proto, &mut pkt)?;
    Ok(pkt)
}

fn ipv4(ip: &[u8], wire: u32, pkt: &mut Packet) -> Result<(u8, usize), Skip> {
    if ip.len() < 20 {
        return Err(Skip::TruncatedIp);
    }
    let ihl = (ip[0] & 0x0f) as usize * 4;
    if ihl < 20 {
        return Err(Skip::BadIpHeader);
    }
    if ip.len() < ihl {
        return Err(Skip::TruncatedIp);
    }
    let total = u16::from_be_bytes([ip[2], ip[3]]) as u32;
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
        return Err(Skip::Fragment);
    }
    pkt.src[..4].copy_from_slice(&ip[12..16]);
    pkt.dst[..4].copy_from_slice(&ip[16..20]);
    pkt.ip_len = if total >= ihl as u32 { total } else { wire };
    Ok((ip[9], ihl))
}

fn ipv6(ip: &[u8], wire: u32, pkt: &mut Packet) -> Result<(u8, usize), Skip> {
    if ip.len() < 40 {
        return Err(Skip::TruncatedIp);
    }
    let payload = u16::from_be_bytes([ip[4], ip[5]]) as u32;
    pkt.src.copy_from_slice(&ip[8..24]);
    pkt.dst.copy_from_slice(&ip[24..40]);
    // Payload length 0: jumbogram or segmentation offload; the wire length is the best source.
    pkt.ip_len = if payload > 0 { 40 + payload } else { wire };
    let mut next = ip[6];
    let mut p = 40usize;
    for _ in 0..16 {
        match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6: (len + 1) × 8 bytes.
            0 | 43 | 60 | 135 | 139 | 140 => {
                let h = ip.get(p..p + 2).ok_or(Skip::TruncatedIp)?;
                next = h[0];
                p += (h[1] as usize + 1) * 8;
            }
            44 => {
                let h = ip.get(p..p + 8).ok_or(Skip::TruncatedIp)?;
                if u16::from_be_bytes([h[2], h[3]]) & 0xfff8 != 0 {
                    return Err(Skip::Fragment);
                }
                next = h[0];
                p += 8;
            }
            // Authentication header: (len + 2) × 4 bytes.
            51 => {
                let h = ip.get(p..p + 2).ok_or(Skip::TruncatedIp)?;
                next = h[0];
                p += (h[1] as usize + 2) * 4;
            }
            _ => return Ok((next, p)),
        }
        if p > ip.len() {
            return Err(Skip::TruncatedIp);
        }
    }
    Err(Skip::BadIpHeader)
}

fn transport(ip: &[u8], at: usize, proto: u8, pkt: &mut Packet) -> Result<(), Skip> {
    let t = ip.get(at..).unwrap_or(&[]);
    let hdr = match proto {
        TCP => {
            if t.len() < 14 {
                return Err(Skip::TruncatedTransport);
            }
            pkt.tcp_seq = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
            pkt.tcp_flags = t[13];
            ((t[12] >> 4) as u32 * 4).max(20)
        }
        UDP => {
            if t.len() < 4 {
                return Err(Skip::TruncatedTransport);
            }
            8
        }
        _ => return Err(Skip::NotTcpUdp),
    };
    pkt.proto = proto;
    pkt.sport = u16::from_be_bytes([t[0], t[1]]);
    pkt.dport = u16::from_be_bytes([t[2], t[3]]);
    pkt.payload_len = pkt.ip_len.saturating_sub(at as u32 + hdr);
    Ok(())
}

/// Shared by tests and the fuzz harness: decode must never panic on any bytes.
pub fn decode_any(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let lt = u16::from_le_bytes([data[0], data[1]]) as u32;
    let _ = decode(lt, &data[2..], data.len() as u32, 0, 0);
    for lt in [
        linktype::ETHERNET,
        linktype::RAW,
        linktype::NULL,
        linktype::LINUX_SLL,
        linktype::LINUX_SLL2,
        linktype::PPP,
        linktype::PPI,
    ] {
        let _ = decode(lt, data, data.len() as u32, 0, 0);
    }
    let _ = be32(data, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
    }

    // nDPI's `1kxun.pcap`, frame 22 (tshark -x): Ethernet, IPv4, TCP SYN
    // 192.168.115.8:49597 → 106.185.35.110:80 with 12 bytes of TCP options.
    const ETH_HDR: &str = "4c5e0cea0365 001c428e7031 0800";
    const V4_TCP_SYN: &str = "45000034 51c44000 8006e727 c0a87308 6ab9236e c1bd0050 3d585160 00000000 80022000 3d3a0000 020404ec 01030308 01010402";

    #[test]
    fn ethernet_ipv4_tcp() {
        let mut f = hex(ETH_HDR);
        f.extend(hex(V4_TCP_SYN));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32, 7, 3).unwrap();
        assert_eq!(p.src_ip().to_string(), "192.168.115.8");
        assert_eq!(p.dst_ip().to_string(), "106.185.35.110");
        assert_eq!((p.sport, p.dport, p.proto, p.ip_version), (49597, 80, TCP, 4));
        assert_eq!((p.ip_len, p.tcp_flags, p.payload_len, p.tcp_seq), (0x34, TCP_SYN, 0, 0x3d585160));
        assert_eq!((p.ts_us, p.index), (7, 3));
    }

    // nDPI's `1kxun.pcap`, frame 12: Ethernet, IPv6, UDP (DHCPv6 fe80::406:55a8:6453:25dd:546 →
    // ff02::1:2:547), payload length 0x2c.
    #[test]
    fn ethernet_ipv6_udp() {
        let f = hex("333300010002 703eacf0f007 86dd 60056104 002c1101 fe800000000000000406 55a8645325dd ff020000000000000000000000010002 02220223002c8968 0b27731d0001000e000100011db8e6fb703eacf0f0070006000400170018000800020000");
        let p = decode(linktype::ETHERNET, &f, f.len() as u32, 0, 0).unwrap();
        assert_eq!(p.src_ip().to_string(), "fe80::406:55a8:6453:25dd");
        assert_eq!(p.dst_ip().to_string(), "ff02::1:2");
        assert_eq!((p.sport, p.dport, p.proto, p.ip_version, p.ip_len, p.payload_len), (546, 547, UDP, 6, 84, 36));
    }

    #[test]
    fn vlan_qinq_sll_sll2_raw_null_ppp_share_the_ip_path() {
        let ip = hex(V4_TCP_SYN);
        let expect = decode(linktype::RAW, &ip, ip.len() as u32, 0, 0).unwrap();
        let with = |prefix: &str| {
            let mut f = hex(prefix);
            f.extend(&ip);
            f
        };
        let cases: Vec<(u32, Vec<u8>)> = vec![
            (linktype::ETHERNET, with("000000000001 000000000002 8100 0064 0800")),
            (linktype::ETHERNET, with("000000000001 000000000002 88a8 0064 8100 00c8 0800")),
            (linktype::ETHERNET, with("000000000001 000000000002 8847 00001 140")),
            (linktype::ETHERNET, with("000000000001 000000000002 8864 1100 0001 0036 0021")),
            (linktype::LINUX_SLL, with("0000 0001 0006 000c297e2f8e 0000 0800")),
            (linktype::LINUX_SLL2, with("0800 0000 00000002 0001 00 06 000c297e2f8e0000")),
            (linktype::NULL, with("02000000")),
            (linktype::NULL, with("00000002")),
            (linktype::LOOP, with("00000002")),
            (linktype::PPP, with("ff03 0021")),
            (linktype::PPP, with("21")),
            (linktype::C_HDLC, with("0f00 0800")),
            (linktype::IPV4, ip.clone()),
            (linktype::RAW_DLT12, ip.clone()),
            (linktype::PPI, with("00 00 0800 65000000")),
        ];
        for (lt, f) in cases {
            let p = decode(lt, &f, f.len() as u32, 0, 0).unwrap_or_else(|e| panic!("linktype {lt}: {e:?}"));
            assert_eq!(p, expect, "linktype {lt}");
        }
        assert_eq!(decode(linktype::IPV6, &ip, 60, 0, 0), Err(Skip::BadIpHeader));
        assert_eq!(decode(105, &ip, 60, 0, 0), Err(Skip::LinkType));
    }

    // IPv6/UDP headers built field by field to place extension headers before UDP.
    #[test]
    fn ipv6_extension_headers_and_fragments() {
        let src = "2a010e3500000000000000000000000a";
        let dst = "20014860486000000000000000008888";
        let udp = "d4310035 0021 0000 deadbeef";
        let v6 = |next: u8, ext: &str, plen: u16| {
            let mut f = hex(&format!("60000000 {plen:04x} {next:02x} 40 {src} {dst}"));
            f.extend(hex(ext));
            f.extend(hex(udp));
            f
        };
        let p = decode(linktype::RAW, &v6(17, "", 0x21), 200, 0, 0).unwrap();
        assert_eq!((p.sport, p.dport, p.ip_len, p.payload_len), (54321, 53, 40 + 0x21, 0x21 - 8));
        assert_eq!(p.dst_ip().to_string(), "2001:4860:4860::8888");
        // hop-by-hop (8 bytes) then UDP
        let p = decode(linktype::RAW, &v6(0, "11 00 0000 00000000", 0x29), 200, 0, 0).unwrap();
        assert_eq!((p.proto, p.sport, p.payload_len), (UDP, 54321, 0x29 - 16));
        // first fragment passes, later fragment is skipped
        assert!(decode(linktype::RAW, &v6(44, "11 00 0001 00000001", 0x29), 200, 0, 0).is_ok());
        assert_eq!(decode(linktype::RAW, &v6(44, "11 00 0100 00000001", 0x29), 200, 0, 0), Err(Skip::Fragment));
        // ICMPv6
        assert_eq!(decode(linktype::RAW, &v6(58, "", 0x21), 200, 0, 0), Err(Skip::NotTcpUdp));
        // extension header cut off by the snap length
        let f = v6(0, "11 05", 0x29);
        assert_eq!(decode(linktype::RAW, &f[..42], 200, 0, 0), Err(Skip::TruncatedIp));
    }

    #[test]
    fn ipv4_options_fragments_and_truncation() {
        let mut ip = hex(V4_TCP_SYN);
        // 4 bytes of options (NOP NOP NOP EOL): IHL 6
        ip[0] = 0x46;
        ip.splice(20..20, hex("01010100"));
        ip[3] += 4;
        let p = decode(linktype::RAW, &ip, 100, 0, 0).unwrap();
        assert_eq!((p.sport, p.ip_len, p.payload_len), (49597, 0x38, 0));
        let mut frag = ip.clone();
        frag[7] = 0x10;
        assert_eq!(decode(linktype::RAW, &frag, 100, 0, 0), Err(Skip::Fragment));
        // Snap-length truncated: IP length still from the header.
        let mut big = hex(V4_TCP_SYN);
        big[2..4].copy_from_slice(&1500u16.to_be_bytes());
        let p = decode(linktype::RAW, &big[..40], 1500, 0, 0).unwrap();
        assert_eq!((p.ip_len, p.payload_len), (1500, 1500 - 20 - 32));
        assert_eq!(decode(linktype::RAW, &big[..30], 1500, 0, 0), Err(Skip::TruncatedTransport));
        assert_eq!(decode(linktype::RAW, &big[..19], 1500, 0, 0), Err(Skip::TruncatedIp));
        // total length 0 (segmentation offload): wire length
        big[2..4].copy_from_slice(&[0, 0]);
        assert_eq!(
            decode(linktype::ETHERNET, &[&[0u8; 12][..], &[8, 0], &big[..]].concat(), 2914, 0, 0).unwrap().ip_len,
            2900
        );
        let mut bad = hex(V4_TCP_SYN);
        bad[0] = 0x44;
        assert_eq!(decode(linktype::RAW, &bad, 60, 0, 0), Err(Skip::BadIpHeader));
    }

    #[test]
    fn never_panics_on_prefixes() {
        let mut f = hex("000000000001 000000000002 8100 0064 86dd");
        f.extend(hex("60000000 0029 00 40 2a010e3500000000000000000000000a 20014860486000000000000000008888 2c 00 0000 00000001 11 00 0000 00000000 d4310035 0021 0000"));
        for n in 0..=f.len() {
            decode_any(&f[..n]);
            for lt in [0, 1, 9, 12, 50, 51, 101, 104, 108, 113, 192, 228, 229, 276] {
                let _ = decode(lt, &f[..n], 0, 0, 0);
            }
        }
        assert!(decode(linktype::ETHERNET, &f, f.len() as u32, 0, 0).is_ok());
    }
}
