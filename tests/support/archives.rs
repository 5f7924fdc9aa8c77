//! Readers for the containers a macOS package is made of, written from the formats' specifications so the
//! package tests do not trust the tools that wrote them: xar (the flat package: header, zlib TOC, heap, SHA-1
//! checksums) and odc cpio (Payload, Scripts). Every read checks what it can and panics with the reason.

use std::io::Read;

/// One file of a xar archive, with its data (checksums verified).
pub struct XarEntry {
    pub path: String,
    pub kind: String,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub data: Vec<u8>,
}

pub struct Xar {
    pub toc_xml: String,
    pub entries: Vec<XarEntry>,
}

fn sha1(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn be_u16(b: &[u8], at: usize) -> usize {
    u16::from_be_bytes([b[at], b[at + 1]]) as usize
}

fn be_u64(b: &[u8], at: usize) -> usize {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x) as usize
}

fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<roxmltree::Node<'a, 'a>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn text_of(node: roxmltree::Node, name: &str) -> Option<String> {
    child(node, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_owned())
}

/// Read a xar archive: the header, the TOC (whose SHA-1 must be the one stored in the heap), then every
/// file's data, whose archived and extracted SHA-1 checksums must hold.
pub fn read_xar(bytes: &[u8]) -> Xar {
    assert!(bytes.len() >= 28, "xar shorter than its header");
    assert_eq!(&bytes[0..4], b"xar!", "not a xar archive (magic)");
    let header_size = be_u16(bytes, 4);
    assert_eq!(be_u16(bytes, 6), 1, "xar version");
    let toc_compressed = be_u64(bytes, 8);
    let toc_uncompressed = be_u64(bytes, 16);
    let cksum_alg = u32::from_be_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
    assert_eq!(cksum_alg, 1, "TOC checksum algorithm should be SHA-1 (1)");
    let toc_raw = &bytes[header_size..header_size + toc_compressed];
    let mut toc_xml = String::new();
    flate2::read::ZlibDecoder::new(toc_raw)
        .read_to_string(&mut toc_xml)
        .expect("xar TOC is zlib-compressed XML");
    assert_eq!(toc_xml.len(), toc_uncompressed, "TOC length in the header");
    let heap = &bytes[header_size + toc_compressed..];

    let doc = roxmltree::Document::parse(&toc_xml).expect("TOC XML parses");
    let toc = child(doc.root_element(), "toc").expect("<toc>");
    let ck = child(toc, "checksum").expect("<toc><checksum>");
    assert_eq!(ck.attribute("style"), Some("sha1"));
    let off: usize = text_of(ck, "offset").unwrap().parse().unwrap();
    let size: usize = text_of(ck, "size").unwrap().parse().unwrap();
    assert_eq!(size, 20);
    assert_eq!(
        &heap[off..off + size],
        sha1(toc_raw).as_slice(),
        "stored TOC checksum"
    );

    let mut entries = Vec::new();
    fn walk(node: roxmltree::Node, prefix: &str, heap: &[u8], out: &mut Vec<XarEntry>) {
        for f in node.children().filter(|c| c.has_tag_name("file")) {
            let name = text_of(f, "name").expect("<file><name>");
            assert!(
                !name.contains('/') && name != ".." && !name.is_empty(),
                "xar name {name:?}"
            );
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let kind = text_of(f, "type").unwrap_or_default();
            let num = |tag: &str, radix: u32| {
                text_of(f, tag).map(|t| u32::from_str_radix(&t, radix).expect("number"))
            };
            let mut data = Vec::new();
            if let Some(d) = child(f, "data") {
                let off: usize = text_of(d, "offset").unwrap().parse().unwrap();
                let length: usize = text_of(d, "length").unwrap().parse().unwrap();
                let size: usize = text_of(d, "size").unwrap().parse().unwrap();
                let archived = &heap[off..off + length];
                let encoding = child(d, "encoding").and_then(|e| e.attribute("style"));
                data = match encoding {
                    Some("application/x-gzip") => {
                        let mut v = Vec::new();
                        flate2::read::ZlibDecoder::new(archived)
                            .read_to_end(&mut v)
                            .unwrap();
                        v
                    }
                    _ => archived.to_vec(),
                };
                assert_eq!(data.len(), size, "{path}: extracted size");
                for (tag, bytes) in [
                    ("archived-checksum", archived),
                    ("extracted-checksum", data.as_slice()),
                ] {
                    let c = child(d, tag).unwrap_or_else(|| panic!("{path}: no <{tag}>"));
                    assert_eq!(c.attribute("style"), Some("sha1"), "{path}: {tag} style");
                    assert_eq!(
                        c.text().unwrap().trim(),
                        hex(&sha1(bytes)),
                        "{path}: {tag} does not hold"
                    );
                }
            }
            out.push(XarEntry {
                path: path.clone(),
                kind,
                mode: num("mode", 8),
                uid: num("uid", 10),
                gid: num("gid", 10),
                data,
            });
            walk(f, &path, heap, out);
        }
    }
    walk(toc, "", heap, &mut entries);
    Xar { toc_xml, entries }
}

impl Xar {
    pub fn file(&self, path: &str) -> &[u8] {
        &self
            .entries
            .iter()
            .find(|e| e.path == path && e.kind == "file")
            .unwrap_or_else(|| panic!("no file {path} in the xar"))
            .data
    }
}

/// One entry of an odc (POSIX.1 portable, magic 070707) cpio archive.
#[derive(Debug)]
pub struct CpioEntry {
    pub name: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub data: Vec<u8>,
}

/// Read a gzip'd odc cpio archive up to its TRAILER!!! entry; any other header format fails.
pub fn read_odc_gz(gz: &[u8]) -> Vec<CpioEntry> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .expect("gzip");
    let mut at = 0;
    let mut out = Vec::new();
    let oct = |b: &[u8]| -> usize {
        usize::from_str_radix(std::str::from_utf8(b).expect("ascii"), 8).expect("octal field")
    };
    loop {
        let h = &raw[at..at + 76];
        assert_eq!(&h[0..6], b"070707", "entry at {at} is not odc cpio");
        let mode = oct(&h[18..24]) as u32;
        let uid = oct(&h[24..30]) as u32;
        let gid = oct(&h[30..36]) as u32;
        let namesize = oct(&h[59..65]);
        let filesize = oct(&h[65..76]);
        let name_bytes = &raw[at + 76..at + 76 + namesize];
        assert_eq!(name_bytes.last(), Some(&0), "name ends with NUL");
        let name = String::from_utf8(name_bytes[..namesize - 1].to_vec()).unwrap();
        let start = at + 76 + namesize;
        at = start + filesize;
        if name == "TRAILER!!!" {
            return out;
        }
        out.push(CpioEntry {
            name,
            mode,
            uid,
            gid,
            data: raw[start..start + filesize].to_vec(),
        });
    }
}
