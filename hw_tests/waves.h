// waves.h - an FST waveform of a co-simulation, for the build made with
// `--trace-fst` (hw_tests/README.md, "Waveforms").
//
// `+trace+FILE` records into FILE; `+trace_label+LABEL` starts recording at
// the first clocked command of run LABEL (its CSR writes, the run, and any
// interruption before it) instead of at the start of the stimulus file.
// Time: cycle c's low phase is at 10·c and its rising edge at 10·c + 5, in
// the build's time unit (1 ns): N counts rising edges from the file's start,
// as the MISMATCH lines do.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "verilated.h"
#if VM_TRACE_FST
#include "verilated_fst_c.h"
#endif

class Waves {
public:
    // The +trace+ and +trace_label+ arguments; an empty file records nothing.
    // Returns false when recording was asked of a build without tracing.
    // Call before the model is made.
    bool configure(VerilatedContext* ctx, const std::string& file, const std::string& label) {
        file_ = file;
        label_ = label;
#if VM_TRACE_FST
        if (!file_.empty()) ctx->traceEverOn(true);
        return true;
#else
        (void)ctx;
        return file_.empty();
#endif
    }

    // Opens the file at the first call where `label` is the run to record
    // (any run when no label was given).
    template <class Model>
    void begin(Model* top, const std::string& label, uint64_t cycle) {
#if VM_TRACE_FST
        if (file_.empty() || fst_ || done_ || (!label_.empty() && label != label_)) return;
        fst_.reset(new VerilatedFstC);
        top->trace(fst_.get(), 99);
        fst_->open(file_.c_str());
        first_ = last_ = cycle;
#else
        (void)top, (void)label, (void)cycle;
#endif
    }

    // Records the settled values at cycle's low phase (what the checks of
    // its rising edge see) or after its rising edge.
    void low(uint64_t cycle) {
        dump(10 * cycle);
        last_ = cycle;
    }
    void high(uint64_t cycle) { dump(10 * cycle + 5); }

    // Closes the file and prints `WAVES file=FILE cycles=FIRST..LAST`.
    void close() {
#if VM_TRACE_FST
        if (!fst_) return;
        fst_->close();
        fst_.reset();
        done_ = true;
        std::printf("WAVES file=%s cycles=%llu..%llu\n", file_.c_str(), (unsigned long long)first_,
                    (unsigned long long)last_);
#endif
    }

private:
    std::string file_, label_;
    uint64_t first_ = 0, last_ = 0;
    bool done_ = false;
#if VM_TRACE_FST
    std::unique_ptr<VerilatedFstC> fst_;
#endif

    void dump(uint64_t time) {
#if VM_TRACE_FST
        if (fst_) fst_->dump(time);
#else
        (void)time;
#endif
    }
};
