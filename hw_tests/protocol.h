// protocol.h - the valid/ready rules, checked on every stream port at every
// rising edge of a co-simulation (hw_tests/README.md, "Protocol checks").
//
// A transfer happens at a rising edge where valid and ready are both high.
// Once a source raises valid it must hold it, with the same data, until
// that transfer (the AXI4-Stream rule): so if a port showed valid && !ready
// at one edge, it must show valid with unchanged data at the next. Ready is
// free to come and go. A reset aborts every transfer (reset()).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace protocol {

// A port value: little-endian 32-bit words, as tb_main.cpp reads them.
using Words = std::vector<uint32_t>;

// One payload signal of a port (data, key, last, ...) as sampled.
struct Field {
    const char* name;
    Words value;
};

// A port just before a rising edge.
struct Sample {
    bool valid = false, ready = false;
    std::vector<Field> payload;
};

// A broken rule: the port, the rising edge (cycle) where it showed, which
// rule ("valid-held" or "data-stable") and what changed.
struct Violation {
    std::string port, rule, detail;
    uint64_t cycle = 0;
};

class Checker {
public:
    // Registers a port by name; the index is what check() takes.
    size_t add(const std::string& name) {
        ports_.push_back(Port{name, false, {}});
        return ports_.size() - 1;
    }

    // Whether check() compares or keeps the payload of `port` at this edge:
    // it waited at the previous edge, or waits now. Reading wide ports only
    // then keeps the checks cheap.
    bool needs_payload(size_t port, bool valid, bool ready) const {
        return ports_[port].waiting || (valid && !ready);
    }

    // Checks `port` at rising edge `cycle` against what it showed at the
    // previous edge (the payload may be left empty when needs_payload() is
    // false). Returns false and fills `v` on a violation.
    bool check(size_t port, const Sample& s, uint64_t cycle, Violation& v) {
        Port& p = ports_[port];
        if (p.waiting) {
            if (!s.valid) {
                v = {p.name, "valid-held", "valid fell without a transfer (valid && !ready at the edge before)",
                     cycle};
                return false;
            }
            for (size_t i = 0; i < s.payload.size(); ++i) {
                if (s.payload[i].value != p.held[i].value) {
                    v = {p.name, "data-stable",
                         std::string(s.payload[i].name) + " changed while valid && !ready, from 0x" +
                             hex(p.held[i].value) + " to 0x" + hex(s.payload[i].value),
                         cycle};
                    return false;
                }
            }
        }
        p.waiting = s.valid && !s.ready;
        if (p.waiting) p.held = s.payload;
        return true;
    }

    // Forgets held transfers: a reset aborts them.
    void reset() {
        for (Port& p : ports_) p.waiting = false;
    }

private:
    struct Port {
        std::string name;
        bool waiting;              // valid && !ready at the previous edge
        std::vector<Field> held;   // the payload then
    };
    std::vector<Port> ports_;

    static std::string hex(const Words& w) {
        std::string s;
        for (size_t i = w.size(); i-- > 0;) {
            char buf[9];
            std::snprintf(buf, sizeof buf, "%08x", w[i]);
            s += buf;
        }
        const size_t nz = s.find_first_not_of('0');
        return nz == std::string::npos ? "0" : s.substr(nz);
    }
};

}  // namespace protocol
