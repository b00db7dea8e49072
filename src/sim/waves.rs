//! GTKWave save files for the waveforms `verify --waves` records: the top's
//! ports grouped by interface, so that a reader opens the FST and sees the
//! handshakes without searching the hierarchy.

use std::fmt::Write;
use std::path::Path;

use crate::golden::Derived;

/// One interface of the top: a group title and its ports, each with its
/// width in bits if it is declared as a vector (`None`: a scalar wire).
struct Group {
    title: &'static str,
    ports: Vec<(String, Option<u32>)>,
}

/// A scalar port.
const BIT: Option<u32> = None;

/// The top's ports by interface, in the order of `templates/top.v.hbs`.
fn groups(d: &Derived) -> Vec<Group> {
    let group = |title, ports: &[(&str, Option<u32>)]| Group {
        title,
        ports: ports.iter().map(|&(n, w)| (n.to_string(), w)).collect(),
    };
    vec![
        Group {
            title: "clock and reset",
            ports: vec![("clk".into(), BIT), (d.reset_port.clone(), BIT)],
        },
        group(
            "CSR",
            &[
                ("csr_we", BIT),
                ("csr_addr", Some(4)),
                ("csr_wdata", Some(32)),
                ("csr_rdata", Some(32)),
            ],
        ),
        group(
            "queries in (s_q)",
            &[
                ("s_q_valid", BIT),
                ("s_q_ready", BIT),
                ("s_q_data", Some(d.row_bits)),
            ],
        ),
        group(
            "output rows (m_out)",
            &[
                ("m_out_valid", BIT),
                ("m_out_ready", BIT),
                ("m_out_data", Some(d.out_row_bits)),
            ],
        ),
        group(
            "memory requests (m_mem_req)",
            &[
                ("m_mem_req_valid", BIT),
                ("m_mem_req_ready", BIT),
                ("m_mem_req_key", Some(d.key_index_bits)),
            ],
        ),
        group(
            "memory responses (s_mem_rsp)",
            &[
                ("s_mem_rsp_valid", BIT),
                ("s_mem_rsp_ready", BIT),
                ("s_mem_rsp_data", Some(d.chunk_bits)),
            ],
        ),
        group(
            "crossbar requests (m_xbar_req)",
            &[
                ("m_xbar_req_valid", BIT),
                ("m_xbar_req_ready", BIT),
                ("m_xbar_req_qmsb", Some(d.qmsb_bits)),
                ("m_xbar_req_threshold", Some(d.threshold_bits)),
                ("m_xbar_req_read_id", Some(32)),
            ],
        ),
        group(
            "crossbar keep vectors (s_xbar_keep)",
            &[
                ("s_xbar_keep_valid", BIT),
                ("s_xbar_keep_ready", BIT),
                ("s_xbar_keep_data", Some(d.xbar_cols)),
                ("s_xbar_keep_last", BIT),
            ],
        ),
    ]
}

/// GTKWave's trace flags: a scalar in binary, a vector in hex.
const BINARY: &str = "@28";
const HEX: &str = "@22";
/// A group's opening and closing lines ("blank" traces with the group
/// flags: 0x800000 | 0x200 opens, 0x1000000 | 0x200 closes).
const GROUP_OPEN: &str = "@800200";
const GROUP_CLOSE: &str = "@1000200";

/// A GTKWave save file that opens `fst` with the ports of `<name>_top`
/// (instance `u_top` of the simulation harness) in one group per interface,
/// valid and ready first. Signal names are Verilator's FST scopes:
/// `TOP.<name>_tb_harness.u_top.<port>`, with `[msb:0]` for a vector.
pub fn gtkw_save_file(d: &Derived, fst: &Path) -> String {
    let scope = format!("TOP.{}_tb_harness.u_top", d.name);
    let mut text = format!(
        "[*] {} co-simulation: the top's ports by interface (sprint-rtl verify --waves)\n\
         [dumpfile] \"{}\"\n",
        d.name,
        fst.display()
    );
    for g in groups(d) {
        let _ = writeln!(text, "{GROUP_OPEN}\n-{}", g.title);
        for (port, width) in &g.ports {
            let _ = match width {
                None => writeln!(text, "{BINARY}\n{scope}.{port}"),
                Some(w) => writeln!(text, "{HEX}\n{scope}.{port}[{}:0]", w - 1),
            };
        }
        let _ = writeln!(text, "{GROUP_CLOSE}\n-{}", g.title);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn every_interface_is_a_group_with_its_handshake_first() {
        let d = Derived::from_spec(&Spec::default_spec());
        let text = gtkw_save_file(&d, Path::new("/w/waves/seed1_sprint.fst"));
        assert!(text.contains("[dumpfile] \"/w/waves/seed1_sprint.fst\"\n"));
        let scope = format!("TOP.{}_tb_harness.u_top", d.name);
        assert!(text.contains(&format!(
            "@800200\n-queries in (s_q)\n@28\n{scope}.s_q_valid\n@28\n{scope}.s_q_ready\n\
             @22\n{scope}.s_q_data[{}:0]\n@1000200\n-queries in (s_q)\n",
            d.row_bits - 1
        )));
        assert_eq!(text.matches("@800200").count(), 8);
        assert_eq!(text.matches("@1000200").count(), 8);
    }
}
