// tb_main.cpp - the one Verilator testbench of every generated SPRINT design.
//
// Drives <name>_tb_harness (model class Vharness) only through its ports from
// a stimulus file written by the golden model; see hw_tests/README.md for the
// port list and the command language. Every valid/ready port is checked
// against the handshake rules at every rising edge (protocol.h). Exit
// status: 0 pass, 1 mismatch, protocol violation or timeout, 2 malformed
// stimulus or arguments.
#include "Vharness.h"
#include "protocol.h"
#include "verilated.h"
#include "waves.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

// A port or row value: little-endian 32-bit words (word 0 holds bits 31..0).
using Words = std::vector<uint32_t>;

// ---- Port access -----------------------------------------------------------
// Verilator picks CData/SData/IData/QData or VlWide<N> by port width, and the
// width differs per design, so every port goes through these overloads.
template <typename T>
void set_port(T& port, const Words& w) {
    static_assert(std::is_integral<T>::value, "scalar Verilator port");
    uint64_t v = 0;
    for (size_t i = 0; i < w.size() && i < 2; ++i) v |= uint64_t(w[i]) << (32 * i);
    port = static_cast<T>(v);
}
template <std::size_t N>
void set_port(VlWide<N>& port, const Words& w) {
    for (size_t i = 0; i < N; ++i) port.data()[i] = i < w.size() ? w[i] : 0;
}
template <typename T>
Words get_port(const T& port) {
    const uint64_t v = port;
    return sizeof(T) > 4 ? Words{uint32_t(v), uint32_t(v >> 32)} : Words{uint32_t(v)};
}
template <std::size_t N>
Words get_port(const VlWide<N>& port) {
    return Words(port.data(), port.data() + N);
}
// Storage bits of a port: an upper bound on its width, used to reject stimulus
// values that could not fit (the exact width is not visible at run time).
template <typename T>
unsigned capacity(const T&) { return 8 * sizeof(T); }
template <std::size_t N>
unsigned capacity(const VlWide<N>&) { return 32 * N; }

// ---- Bit helpers -------------------------------------------------------------
bool bit(const Words& w, unsigned i) { return i / 32 < w.size() && ((w[i / 32] >> (i % 32)) & 1); }
unsigned bit_length(const Words& w) {
    for (size_t i = w.size(); i-- > 0;)
        for (unsigned b = 32; b-- > 0;)
            if ((w[i] >> b) & 1) return unsigned(32 * i + b + 1);
    return 0;
}
// Bits [lo, lo+width) of w, shifted down to bit 0 (bits past w's end read 0).
// A word at a time: it slices every fetched row into beats.
Words field(const Words& w, unsigned lo, unsigned width) {
    Words r((width + 31) / 32, 0);
    const auto word = [&](size_t i) { return i < w.size() ? uint64_t(w[i]) : 0; };
    const unsigned shift = lo % 32;
    for (size_t i = 0; i < r.size(); ++i) {
        const size_t src = lo / 32 + i;
        r[i] = uint32_t((word(src) | word(src + 1) << 32) >> shift);
    }
    if (width % 32 != 0) r.back() &= (1u << (width % 32)) - 1;
    return r;
}
uint64_t to_u64(const Words& w) { return (w.size() > 0 ? w[0] : 0) | (w.size() > 1 ? uint64_t(w[1]) << 32 : 0); }
std::string to_hex(const Words& w, unsigned bits) {
    std::string s;
    for (unsigned d = (bits + 3) / 4; d-- > 0;) {
        // 4*d is a multiple of 4, so a nibble never straddles two words.
        const unsigned nib = 4 * d / 32 < w.size() ? (w[4 * d / 32] >> (4 * d % 32)) & 0xF : 0;
        s += "0123456789abcdef"[nib];
    }
    return s.empty() ? "0" : s;
}
// Big-endian hex (last digit = bits 3..0) to words.
bool parse_hex(const std::string& s, Words& w) {
    if (s.empty()) return false;
    w.assign((4 * s.size() + 31) / 32, 0);
    for (size_t k = 0; k < s.size(); ++k) {
        const char c = s[s.size() - 1 - k];
        int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (v < 0) return false;
        w[k / 8] |= uint32_t(v) << (4 * (k % 8));
    }
    return true;
}
// Decimal (the README's format); CSR values may also be negative (two's
// complement, e.g. the signed threshold) or 0x-prefixed.
bool parse_num(const std::string& s, uint64_t& v, bool csr_value = false) {
    const bool neg = csr_value && !s.empty() && s[0] == '-';
    std::string t = neg ? s.substr(1) : s;
    int base = 10;
    if (csr_value && t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) { t = t.substr(2); base = 16; }
    if (t.empty() || t.find_first_not_of(base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
        return false;
    v = std::strtoull(t.c_str(), nullptr, base);
    if (neg) v = uint64_t(0) - v;
    return true;
}

// The waveform being recorded, if any: closed on every way out.
Waves& waves() {
    static Waves w;
    return w;
}

[[noreturn]] void die(int code) {
    waves().close();
    std::fflush(stdout);
    std::exit(code);
}
[[noreturn]] void parse_error(int line, const std::string& msg) {
    std::printf("ERROR line %d: %s\n", line, msg.c_str());
    die(2);
}

struct Params {
    uint64_t mem_latency = 1, mem_bytes_per_cycle = 0, beat_bytes = 0, beat_bits = 0, beats_per_key = 0,
             max_cycles = 50000000, idle_percent = 0, stall_percent = 0, tb_seed = 1, out_bits = 0,
             keep_beat_bits = 0, port_order = 1;
    uint64_t* find(const std::string& n) {
        static const std::map<std::string, uint64_t Params::*> names = {
            {"mem_latency", &Params::mem_latency}, {"mem_bytes_per_cycle", &Params::mem_bytes_per_cycle},
            {"beat_bytes", &Params::beat_bytes}, {"beat_bits", &Params::beat_bits},
            {"beats_per_key", &Params::beats_per_key}, {"max_cycles", &Params::max_cycles},
            {"idle_percent", &Params::idle_percent}, {"stall_percent", &Params::stall_percent},
            {"tb_seed", &Params::tb_seed}, {"out_bits", &Params::out_bits},
            {"keep_beat_bits", &Params::keep_beat_bits}, {"port_order", &Params::port_order}};
        auto it = names.find(n);
        return it == names.end() ? nullptr : &(this->*(it->second));
    }
};

// One stimulus line, fully validated before simulation starts so that a
// malformed file fails with status 2 instead of after a long run.
struct Cmd {
    int line = 0;
    std::string op, name, tok;  // name: label/param/CSR name; tok: raw VALUE of expect_csr
    uint64_t a = 0, b = 0;
    Words h1, h2;
    unsigned bits1 = 0;  // 4 * digits of h1: the row width the file claims
};

std::vector<Cmd> parse_file(const char* path) {
    std::ifstream in(path);
    if (!in) { std::printf("ERROR line 0: cannot open stimulus '%s'\n", path); die(2); }
    // Argument kinds per command: n number, v CSR value, h hex, s name.
    static const std::map<std::string, std::string> shapes = {
        {"param", "sn"}, {"reset", "n"}, {"seed", "h"}, {"program", "nh"}, {"mem", "nhh"},
        {"csr", "nv"}, {"query", "h"}, {"expect", "nh"}, {"fetch", "nn"}, {"keep", "nnh"}, {"run", "s"},
        {"cycles", "n"}, {"expect_csr", "nvs"}, {"report_csr", "ns"}, {"end", ""}};
    std::vector<Cmd> cmds;
    std::string text;
    int line = 1;
    for (; std::getline(in, text); ++line) {
        std::istringstream ss(text.substr(0, text.find('#')));
        std::vector<std::string> tok;
        for (std::string t; ss >> t;) tok.push_back(t);
        if (tok.empty()) continue;
        auto shape = shapes.find(tok[0]);
        if (shape == shapes.end()) parse_error(line, "unknown command '" + tok[0] + "'");
        if (tok.size() != shape->second.size() + 1) parse_error(line, "wrong number of arguments to " + tok[0]);
        Cmd c;
        c.line = line;
        c.op = tok[0];
        int nums = 0, hexes = 0;
        for (size_t i = 1; i < tok.size(); ++i) {
            const char kind = shape->second[i - 1];
            const std::string& t = tok[i];
            if (kind == 's') {
                c.name = t;
            } else if (kind == 'h') {
                if (!parse_hex(t, hexes == 0 ? c.h1 : c.h2)) parse_error(line, "bad hex '" + t + "'");
                if (hexes++ == 0) c.bits1 = unsigned(4 * t.size());
            } else {
                if (!parse_num(t, nums++ == 0 ? c.a : c.b, kind == 'v')) parse_error(line, "bad number '" + t + "'");
                if (kind == 'v') c.tok = t;
            }
        }
        if (c.op == "param") {
            Params probe;
            if (!probe.find(c.name)) parse_error(line, "unknown param '" + c.name + "'");
            if ((c.name == "idle_percent" || c.name == "stall_percent") && c.a > 100)
                parse_error(line, c.name + " above 100");
        }
        if ((c.op == "csr" || c.op == "expect_csr" || c.op == "report_csr") && c.a > 255)
            parse_error(line, "CSR address above 255");
        cmds.push_back(c);
        if (c.op == "end") return cmds;
    }
    // A truncated stimulus file must not pass.
    parse_error(line, "no 'end' command");
}

// A handshake rule the testbench's query driver breaks on purpose, once, at
// the first edge where its query waits (+tb_fault+NAME): the proof that the
// protocol checks fire.
enum class DriverFault { None, DropQueryValid, ChangeQueryData };

DriverFault parse_fault(const std::string& name) {
    if (name == "drop_q_valid") return DriverFault::DropQueryValid;
    if (name == "change_q_data") return DriverFault::ChangeQueryData;
    std::printf("ERROR line 0: unknown +tb_fault+%s (allowed: drop_q_valid, change_q_data)\n", name.c_str());
    die(2);
}

struct Expected { uint64_t query; Words row; unsigned bits; };
struct Fetch { uint64_t query, key; };
struct Keep { uint64_t query, n_keys; Words bits; };
struct MemReq { uint64_t ready_at; std::vector<Words> beats; size_t next; };

class Testbench {
public:
    Testbench(VerilatedContext* ctx, DriverFault fault) : ctx_(ctx), top_(new Vharness{ctx}), fault_(fault) {
        // Every input idle; STATUS on the CSR read port so runs can poll it.
        top_->clk = 0;
        top_->tb_rst = 0;
        top_->csr_addr = 1;
        top_->eval();
        for (const char* port : {"s_q", "m_out", "m_mem_req", "s_mem_rsp", "m_xbar_req", "s_xbar_keep"})
            protocol_.add(port);
    }

    void execute(const std::vector<Cmd>& cmds) {
        // A clocked command's mismatch belongs to the run it leads up to
        // (e.g. `cycles` interrupting a run); CSR checks belong to the run just done.
        std::vector<std::string> next_label(cmds.size() + 1, "-");
        for (size_t i = cmds.size(); i-- > 0;)
            next_label[i] = cmds[i].op == "run" ? cmds[i].name : next_label[i + 1];
        std::string last_label = "-";
        for (size_t i = 0; i < cmds.size(); ++i) {
            const Cmd& c = cmds[i];
            line_ = c.line;
            const bool clocked = c.op == "run" || c.op == "reset" || c.op == "csr" || c.op == "program" || c.op == "cycles";
            label_ = clocked || last_label == "-" ? next_label[i] : last_label;
            if (clocked) waves().begin(top_.get(), label_, cycle_);
            if (c.op == "param") {
                *p_.find(c.name) = c.a;
                if (c.name == "tb_seed") rng_ = c.a;
            } else if (c.op == "reset") {
                reset(c.a);
            } else if (c.op == "seed") {
                check_fits(c.h1, capacity(top_->xbar_seed));
                set_port(top_->xbar_seed, c.h1);
            } else if (c.op == "program") {
                check_fits(c.h1, capacity(top_->prog_row));
                check_fits(Words{uint32_t(c.a), uint32_t(c.a >> 32)}, capacity(top_->prog_key));
                top_->prog_valid = 1;
                set_port(top_->prog_key, Words{uint32_t(c.a), uint32_t(c.a >> 32)});
                set_port(top_->prog_row, c.h1);
                clock();
                top_->prog_valid = 0;
            } else if (c.op == "mem") {
                mem_[c.a] = {c.h1, c.h2};
            } else if (c.op == "csr") {
                top_->csr_we = 1;
                top_->csr_addr = uint8_t(c.a);
                top_->csr_wdata = uint32_t(c.b);
                clock();
                top_->csr_we = 0;
                top_->csr_addr = 1;
            } else if (c.op == "query") {
                check_fits(c.h1, capacity(top_->s_q_data));
                queries_.push_back(c.h1);
            } else if (c.op == "expect") {
                check_fits(c.h1, capacity(top_->m_out_data));
                expected_.push_back({c.a, c.h1, c.bits1});
            } else if (c.op == "fetch") {
                fetches_.push_back({c.a, c.b});
            } else if (c.op == "keep") {
                keeps_.push_back({c.a, c.b, c.h1});
            } else if (c.op == "run") {
                run(c.name);
                last_label = c.name;
            } else if (c.op == "cycles") {
                for (uint64_t n = 0; n < c.a; ++n) clock();
            } else if (c.op == "expect_csr" || c.op == "report_csr") {
                const uint32_t v = read_csr(c.a);
                if (c.op == "report_csr") {
                    std::printf("CSR %s %u\n", c.name.c_str(), v);
                } else if (v != uint32_t(c.b)) {
                    std::printf("MISMATCH csr label=%s name=%s expected=%u got=%u cycle=%llu\n", label_.c_str(),
                                c.name.c_str(), uint32_t(c.b), v, last_edge());
                    die(1);
                } else {
                    ++checks_;
                    std::printf("CSR %s %s ok\n", c.name.c_str(), c.tok.c_str());
                }
            } else if (c.op == "end") {
                missing_fetch();
                missing_keep();
                if (!expected_.empty()) mismatch_output(expected_.front(), "none");
                waves().close();
                std::printf("PASS checks=%llu\n", (unsigned long long)checks_);
                top_->final();
                return;
            }
        }
    }

private:
    VerilatedContext* ctx_;
    std::unique_ptr<Vharness> top_;
    Params p_;
    uint64_t rng_ = 1;
    int line_ = 0;
    std::string label_ = "-";
    uint64_t cycle_ = 0, checks_ = 0, run_outputs_ = 0, run_words_ = 0;
    std::deque<Words> queries_;
    std::deque<Expected> expected_;
    std::deque<Fetch> fetches_;
    std::deque<Keep> keeps_;
    Words keep_acc_;            // the keep vector being received, beat by beat
    unsigned keep_bits_ = 0;    // its bits so far
    std::deque<MemReq> mem_reqs_;
    std::map<uint64_t, std::pair<Words, Words>> mem_;  // key -> (K row, V row)
    bool q_valid_ = false, rsp_valid_ = false;          // a source holding valid until its handshake
    uint64_t credits_ = 0;                              // memory bandwidth budget, in bytes
    protocol::Checker protocol_;                        // ports in the order of check_protocol()
    DriverFault fault_;
    bool q_waiting_ = false;                            // s_q showed valid && !ready at the last edge

    // splitmix64: tiny, good enough, and reproducible from tb_seed.
    uint64_t rand64() {
        uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    bool roll(uint64_t percent) { return percent != 0 && rand64() % 100 < percent; }

    void check_fits(const Words& w, unsigned cap) {
        if (bit_length(w) > cap)
            parse_error(line_, "value has " + std::to_string(bit_length(w)) + " significant bits, port holds " +
                                   std::to_string(cap));
    }

    // Low phase: clk falls, inputs change, combinational outputs settle.
    void drive() {
        top_->clk = 0;
        // Sources decide to start a transfer at random, but once valid is up it
        // stays up with stable data until the handshake (AXI-stream rule).
        if (!q_valid_ && !queries_.empty() && !roll(p_.idle_percent)) {
            q_valid_ = true;
            set_port(top_->s_q_data, queries_.front());
        }
        if (q_waiting_ && fault_ != DriverFault::None) commit_fault();
        top_->s_q_valid = q_valid_;
        const uint64_t beat = p_.beat_bytes;
        if (!rsp_valid_ && !mem_reqs_.empty() && mem_reqs_.front().ready_at <= cycle_ &&
            (p_.mem_bytes_per_cycle == 0 || credits_ >= beat) && !roll(p_.idle_percent)) {
            rsp_valid_ = true;
            if (p_.mem_bytes_per_cycle != 0) credits_ -= beat;
            MemReq& r = mem_reqs_.front();
            set_port(top_->s_mem_rsp_data, r.beats[r.next]);
        }
        top_->s_mem_rsp_valid = rsp_valid_;
        top_->m_out_ready = !roll(p_.stall_percent);
        top_->m_mem_req_ready = !roll(p_.stall_percent);
        top_->xbar_req_stall = roll(p_.stall_percent);
        top_->xbar_rsp_stall = roll(p_.stall_percent);
        top_->eval();
        waves().low(cycle_);
    }

    // The injected fault: drop the waiting query's valid (the query stays
    // queued), or flip bit 0 of its data.
    void commit_fault() {
        if (fault_ == DriverFault::DropQueryValid) {
            q_valid_ = false;
        } else {
            Words w = queries_.front();
            w[0] ^= 1;
            set_port(top_->s_q_data, w);
        }
        fault_ = DriverFault::None;
    }

    // Every valid/ready port as it stands before the rising edge, in the
    // order the checker's ports were added; payloads are read only when the
    // checker needs them.
    void check_protocol(uint64_t at_edge) {
        using protocol::Field;
        check_port(0, top_->s_q_valid, top_->s_q_ready, at_edge,
                   [&] { return std::vector<Field>{{"s_q_data", get_port(top_->s_q_data)}}; });
        check_port(1, top_->m_out_valid, top_->m_out_ready, at_edge,
                   [&] { return std::vector<Field>{{"m_out_data", get_port(top_->m_out_data)}}; });
        check_port(2, top_->m_mem_req_valid, top_->m_mem_req_ready, at_edge,
                   [&] { return std::vector<Field>{{"m_mem_req_key", get_port(top_->m_mem_req_key)}}; });
        check_port(3, top_->s_mem_rsp_valid, top_->s_mem_rsp_ready, at_edge,
                   [&] { return std::vector<Field>{{"s_mem_rsp_data", get_port(top_->s_mem_rsp_data)}}; });
        check_port(4, top_->mon_xbar_req_valid, top_->mon_xbar_req_ready, at_edge, [&] {
            return std::vector<Field>{{"m_xbar_req_qmsb", get_port(top_->mon_xbar_req_qmsb)},
                                      {"m_xbar_req_threshold", get_port(top_->mon_xbar_req_threshold)},
                                      {"m_xbar_req_read_id", get_port(top_->mon_xbar_req_read_id)}};
        });
        check_port(5, top_->mon_keep_valid, top_->mon_keep_ready, at_edge, [&] {
            return std::vector<Field>{{"s_xbar_keep_data", get_port(top_->mon_keep_data)},
                                      {"s_xbar_keep_last", get_port(top_->mon_keep_last)}};
        });
    }
    template <class Payload>
    void check_port(size_t port, bool valid, bool ready, uint64_t at_edge, Payload payload) {
        protocol::Sample s;
        s.valid = valid;
        s.ready = ready;
        if (protocol_.needs_payload(port, valid, ready)) s.payload = payload();
        protocol::Violation v;
        if (protocol_.check(port, s, at_edge, v)) return;
        std::printf("MISMATCH protocol label=%s port=%s rule=%s cycle=%llu: %s\n", label_.c_str(), v.port.c_str(),
                    v.rule.c_str(), (unsigned long long)v.cycle, v.detail.c_str());
        die(1);
    }

    // Rising edge: handshakes are decided from the values settled in drive().
    void edge() {
        check_protocol(cycle_);
        q_waiting_ = q_valid_ && !top_->s_q_ready;
        const bool q_fire = q_valid_ && top_->s_q_ready;
        const bool out_fire = top_->m_out_valid && top_->m_out_ready;
        const bool req_fire = top_->m_mem_req_valid && top_->m_mem_req_ready;
        const bool rsp_fire = rsp_valid_ && top_->s_mem_rsp_ready;
        const Words out = out_fire ? get_port(top_->m_out_data) : Words{};
        const uint64_t key = req_fire ? to_u64(get_port(top_->m_mem_req_key)) : 0;
        const bool keep_fire = top_->mon_keep_fire;
        const bool keep_last = top_->mon_keep_last;
        const Words keep = keep_fire ? get_port(top_->mon_keep_data) : Words{};
        top_->clk = 1;
        top_->eval();
        waves().high(cycle_);
        const uint64_t this_edge = cycle_++;
        if (ctx_->gotFinish()) {
            std::printf("MISMATCH finish label=%s design called $finish cycle=%llu\n", label_.c_str(),
                        (unsigned long long)this_edge);
            die(1);
        }
        // The cap keeps an idle memory from saving up a burst, yet leaves room
        // for the fractional carry that makes the long-run rate exact.
        credits_ = std::min(p_.beat_bytes + p_.mem_bytes_per_cycle, credits_ + p_.mem_bytes_per_cycle);
        if (q_fire) { queries_.pop_front(); q_valid_ = false; }
        if (rsp_fire) {
            rsp_valid_ = false;
            if (++mem_reqs_.front().next == mem_reqs_.front().beats.size()) mem_reqs_.pop_front();
        }
        if (out_fire) check_output(out);
        if (req_fire) accept_fetch(key, this_edge);
        if (keep_fire) keep_beat(keep, keep_last);
    }
    void clock() { drive(); edge(); }
    // The rising edge a check ran at (or the last one before it): the
    // cycle= of MISMATCH lines, as in the waveform's time axis.
    unsigned long long last_edge() const { return cycle_ == 0 ? 0 : cycle_ - 1; }

    void check_output(const Words& got_raw) {
        if (expected_.empty()) {
            std::printf("MISMATCH output label=%s query=none element=0 expected=none got=0x%s cycle=%llu\n",
                        label_.c_str(), to_hex(got_raw, 32 * unsigned(got_raw.size())).c_str(), last_edge());
            die(1);
        }
        const Expected e = expected_.front();
        expected_.pop_front();
        Words got = got_raw, want = e.row;
        got.resize(std::max(got.size(), want.size()), 0);
        want.resize(got.size(), 0);
        const uint64_t elems = p_.out_bits ? std::max<uint64_t>(1, e.bits / p_.out_bits) : 1;
        if (got != want) {
            // Report the first differing element; bits past the last whole element
            // (which should be zero on both sides) count as one more element.
            const unsigned w = p_.out_bits ? unsigned(p_.out_bits) : e.bits;
            for (unsigned i = 0;; ++i) {
                const Words g = field(got, i * w, w), x = field(want, i * w, w);
                if (g != x) {
                    std::printf("MISMATCH output label=%s query=%llu element=%u expected=0x%s got=0x%s cycle=%llu\n",
                                label_.c_str(), (unsigned long long)e.query, i, to_hex(x, w).c_str(),
                                to_hex(g, w).c_str(), last_edge());
                    die(1);
                }
            }
        }
        ++checks_;
        ++run_outputs_;
        run_words_ += elems;
    }
    [[noreturn]] void mismatch_output(const Expected& e, const char* got) {
        std::printf("MISMATCH output label=%s query=%llu element=0 expected=0x%s got=%s cycle=%llu\n", label_.c_str(),
                    (unsigned long long)e.query, to_hex(e.row, e.bits).c_str(), got, last_edge());
        die(1);
    }

    void accept_fetch(uint64_t key, uint64_t at_edge) {
        // Without port order (several cores share the port), any expected
        // fetch of this key may come next.
        auto match = fetches_.begin();
        if (!p_.port_order)
            match = std::find_if(fetches_.begin(), fetches_.end(), [&](const Fetch& f) { return f.key == key; });
        if (match == fetches_.end() || match->key != key) {
            const std::string q = fetches_.empty() ? "none" : std::to_string(fetches_.front().query);
            const std::string k = fetches_.empty() ? "none" : std::to_string(fetches_.front().key);
            std::printf("MISMATCH fetch label=%s query=%s expected key=%s got key=%llu cycle=%llu\n", label_.c_str(),
                        q.c_str(), k.c_str(), (unsigned long long)key, last_edge());
            die(1);
        }
        fetches_.erase(match);
        ++checks_;
        auto row = mem_.find(key);
        if (row == mem_.end()) {
            std::printf("MISMATCH fetch label=%s key=%llu has no mem line cycle=%llu\n", label_.c_str(),
                        (unsigned long long)key, last_edge());
            die(1);
        }
        const unsigned cbits = unsigned(p_.beat_bits ? p_.beat_bits : 8 * p_.beat_bytes);
        if (cbits == 0 || p_.beats_per_key == 0 || p_.beats_per_key % 2 != 0 || cbits > capacity(top_->s_mem_rsp_data))
            parse_error(line_, "memory request needs beat_bytes and an even beats_per_key fitting s_mem_rsp_data");
        // K row beats 0.. then V row beats 0.., beat 0 = least significant bits.
        MemReq r{at_edge + std::max<uint64_t>(1, p_.mem_latency), {}, 0};
        for (uint64_t b = 0; b < p_.beats_per_key; ++b) {
            const Words& src = b < p_.beats_per_key / 2 ? row->second.first : row->second.second;
            r.beats.push_back(field(src, unsigned(b % (p_.beats_per_key / 2)) * cbits, cbits));
        }
        mem_reqs_.push_back(r);
    }
    // One beat of a keep vector: keep_beat_bits keys, appended to the vector
    // being received; the last beat completes it.
    void keep_beat(const Words& beat, bool last) {
        const unsigned width = unsigned(p_.keep_beat_bits);
        if (width == 0 || width > capacity(top_->mon_keep_data))
            parse_error(line_, "a keep vector needs keep_beat_bits fitting mon_keep_data");
        for (unsigned i = 0; i < width; ++i) {
            const unsigned pos = keep_bits_ + i;
            if (keep_acc_.size() <= pos / 32) keep_acc_.resize(pos / 32 + 1, 0);
            if (bit(beat, i)) keep_acc_[pos / 32] |= uint32_t(1) << (pos % 32);
        }
        keep_bits_ += width;
        if (!last) return;
        check_keep(keep_acc_);
        keep_acc_.clear();
        keep_bits_ = 0;
    }
    // The crossbar's keep vector for one query: bits at and above n_keys are
    // never used (unprogrammed bit lines), so only the first n_keys compare.
    void check_keep(const Words& got) {
        if (keeps_.empty()) {
            std::printf("MISMATCH keep label=%s query=none unexpected keep vector cycle=%llu\n", label_.c_str(),
                        last_edge());
            die(1);
        }
        // Without port order (several cores share the port), any expected
        // vector may come next: take the first that matches.
        auto match = keeps_.begin();
        if (!p_.port_order) {
            auto same = [&](const Keep& k) {
                for (uint64_t j = 0; j < k.n_keys; ++j)
                    if (bit(got, unsigned(j)) != bit(k.bits, unsigned(j))) return false;
                return true;
            };
            auto found = std::find_if(keeps_.begin(), keeps_.end(), same);
            if (found != keeps_.end()) match = found;
        }
        const Keep k = *match;
        keeps_.erase(match);
        for (uint64_t j = 0; j < k.n_keys; ++j) {
            if (bit(got, unsigned(j)) != bit(k.bits, unsigned(j))) {
                std::printf("MISMATCH keep label=%s query=%llu key=%llu expected=%d got=%d cycle=%llu\n",
                            label_.c_str(), (unsigned long long)k.query, (unsigned long long)j,
                            int(bit(k.bits, unsigned(j))), int(bit(got, unsigned(j))), last_edge());
                die(1);
            }
        }
        ++checks_;
    }
    void missing_keep() {
        if (keeps_.empty()) return;
        std::printf("MISMATCH keep label=%s query=%llu expected a keep vector, got none cycle=%llu\n", label_.c_str(),
                    (unsigned long long)keeps_.front().query, last_edge());
        die(1);
    }

    void missing_fetch() {
        if (fetches_.empty()) return;
        std::printf("MISMATCH fetch label=%s query=%llu expected key=%llu got key=none cycle=%llu\n", label_.c_str(),
                    (unsigned long long)fetches_.front().query, (unsigned long long)fetches_.front().key, last_edge());
        die(1);
    }

    uint32_t read_csr(uint64_t addr) {
        // csr_rdata is combinational: no clock edge, just settle the new address.
        top_->clk = 0;
        top_->csr_we = 0;
        top_->csr_addr = uint8_t(addr);
        top_->eval();
        const uint32_t v = top_->csr_rdata;
        top_->csr_addr = 1;
        top_->eval();
        return v;
    }

    void run(const std::string& label) {
        uint64_t cycles = 0;
        top_->csr_we = 0;
        top_->csr_addr = 1;  // STATUS
        for (;;) {
            drive();
            const bool done = (top_->csr_rdata >> 1) & 1;
            if (done && queries_.empty() && expected_.empty()) break;
            if (cycles >= p_.max_cycles) {
                std::printf("TIMEOUT %s cycle=%llu\n", label.c_str(), last_edge());
                die(1);
            }
            edge();
            ++cycles;
        }
        // The design is done, so a fetch or keep vector the golden model
        // expected will never come.
        missing_fetch();
        missing_keep();
        // Outputs count from the previous run, so rows that arrived during an
        // interrupting `cycles` still belong to this run; cycles are this command's.
        std::printf("RUN %s outputs=%llu words=%llu cycles=%llu\n", label.c_str(), (unsigned long long)run_outputs_,
                    (unsigned long long)run_words_, (unsigned long long)cycles);
        run_outputs_ = run_words_ = 0;
    }

    void reset(uint64_t n) {
        // Sources drop valid (reset aborts transfers); sinks are not ready.
        top_->tb_rst = 1;
        top_->s_q_valid = top_->s_mem_rsp_valid = top_->prog_valid = top_->csr_we = 0;
        top_->m_out_ready = top_->m_mem_req_ready = 0;
        top_->xbar_req_stall = top_->xbar_rsp_stall = 0;
        for (uint64_t i = 0; i < n; ++i, ++cycle_) {
            top_->clk = 0;
            top_->eval();
            waves().low(cycle_);
            top_->clk = 1;
            top_->eval();
            waves().high(cycle_);
        }
        top_->tb_rst = 0;
        queries_.clear();
        expected_.clear();
        fetches_.clear();
        keeps_.clear();
        keep_acc_.clear();
        keep_bits_ = 0;
        mem_reqs_.clear();
        protocol_.reset();
        q_valid_ = rsp_valid_ = q_waiting_ = false;
        credits_ = run_outputs_ = run_words_ = 0;
    }
};

}  // namespace

int main(int argc, char** argv) {
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);  // +verilator+seed+N etc.
    const char* path = nullptr;
    DriverFault fault = DriverFault::None;
    std::string trace_file, trace_label;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](const std::string& prefix, std::string& out) {
            if (arg.rfind(prefix, 0) != 0) return false;
            out = arg.substr(prefix.size());
            return true;
        };
        std::string name;
        if (value("+tb_fault+", name)) fault = parse_fault(name);
        else if (value("+trace+", trace_file) || value("+trace_label+", trace_label)) continue;
        else if (arg[0] != '+' && !path) path = argv[i];
    }
    if (!path) {
        std::printf("ERROR line 0: usage: %s STIMULUS_FILE [+verilator+seed+N] [+tb_fault+NAME] [+trace+FILE.fst "
                    "[+trace_label+LABEL]]\n",
                    argv[0]);
        return 2;
    }
    if (!waves().configure(ctx.get(), trace_file, trace_label)) {
        std::printf("ERROR line 0: +trace+ needs the testbench built with --trace-fst (obj-trace/)\n");
        return 2;
    }
    const std::vector<Cmd> cmds = parse_file(path);
    Testbench tb(ctx.get(), fault);
    tb.execute(cmds);
    std::fflush(stdout);
    return 0;
}
