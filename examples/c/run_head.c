// run_head.c: runs one attention head of the default design, sprint_s,
// through its registers: program the configuration, start, poll done,
// read the counters. Written against the generated header only.
//
// On a host the register block is a stub (an array, with STATUS.done
// already set, so the poll ends at once):
//   cc -std=c99 -Wall -Werror -pedantic -I generated/sprint_s
//      examples/c/run_head.c -o run_head && ./run_head
// On a target, define SPRINT_S_BASE as the block's base address
// (-DSPRINT_S_BASE=0x43C00000, say). The query rows stream in on the query
// port and the K/V rows are fetched on the memory port while the head runs;
// this program only drives the registers.

#include <stdint.h>
#include <stdio.h>

#include "sprint_s_regs.h"

#ifndef SPRINT_S_BASE
static uint32_t stub_block[SPRINT_S_REG_COUNT];
#define SPRINT_S_BASE ((uintptr_t)stub_block)
#define SPRINT_S_STUB 1
#endif

static void write_reg(uint32_t offset, uint32_t value)
{
    *(volatile uint32_t *)(SPRINT_S_BASE + offset) = value;
}

static uint32_t read_reg(uint32_t offset)
{
    return *(volatile uint32_t *)(SPRINT_S_BASE + offset);
}

// `value` placed in a field given by its shift and mask.
static uint32_t field(uint32_t value, uint32_t shift, uint32_t mask)
{
    return (value << shift) & mask;
}

// What one head needs: the crossbar threshold and score scale of its
// layer (from `sprint-rtl calibrate`), and which queries and keys it runs.
struct head_config {
    int32_t threshold;
    uint32_t scale;
    uint32_t n_keys;
    uint32_t n_queries;
    uint32_t query_base;
    uint32_t head_id;
};

struct head_counters {
    uint32_t cycles, kept, fetches, hits, evicts, xbar_reads, mac_cycles;
};

// ANCHOR: run_head
// Runs one head in full SPRINT mode (prune and reuse). Returns 0, -1 when
// the accelerator is busy (it would ignore the configuration), or -2 when
// done has not come after `max_polls` reads of STATUS.
static int run_head(const struct head_config *cfg, struct head_counters *out, long max_polls)
{
    long polls;

    if (read_reg(SPRINT_S_STATUS_OFFSET) & SPRINT_S_STATUS_BUSY_MASK) {
        return -1;
    }
    write_reg(SPRINT_S_MODE_OFFSET, SPRINT_S_MODE_PRUNE_MASK | SPRINT_S_MODE_REUSE_MASK);
    write_reg(SPRINT_S_THRESHOLD_OFFSET,
              field((uint32_t)cfg->threshold, SPRINT_S_THRESHOLD_VALUE_SHIFT,
                    SPRINT_S_THRESHOLD_VALUE_MASK));
    write_reg(SPRINT_S_SCALE_OFFSET,
              field(cfg->scale, SPRINT_S_SCALE_VALUE_SHIFT, SPRINT_S_SCALE_VALUE_MASK));
    write_reg(SPRINT_S_N_KEYS_OFFSET,
              field(cfg->n_keys, SPRINT_S_N_KEYS_VALUE_SHIFT, SPRINT_S_N_KEYS_VALUE_MASK));
    write_reg(SPRINT_S_N_QUERIES_OFFSET,
              field(cfg->n_queries, SPRINT_S_N_QUERIES_VALUE_SHIFT,
                    SPRINT_S_N_QUERIES_VALUE_MASK));
    write_reg(SPRINT_S_QUERY_BASE_OFFSET,
              field(cfg->query_base, SPRINT_S_QUERY_BASE_VALUE_SHIFT,
                    SPRINT_S_QUERY_BASE_VALUE_MASK));
    write_reg(SPRINT_S_HEAD_ID_OFFSET,
              field(cfg->head_id, SPRINT_S_HEAD_ID_VALUE_SHIFT, SPRINT_S_HEAD_ID_VALUE_MASK));
    write_reg(SPRINT_S_CTRL_OFFSET, SPRINT_S_CTRL_START_MASK);

    for (polls = 0; polls < max_polls; polls++) {
        if (read_reg(SPRINT_S_STATUS_OFFSET) & SPRINT_S_STATUS_DONE_MASK) {
            break;
        }
    }
    if (polls == max_polls) {
        return -2;
    }
    out->cycles = read_reg(SPRINT_S_CYCLES_OFFSET);
    out->kept = read_reg(SPRINT_S_KEPT_OFFSET);
    out->fetches = read_reg(SPRINT_S_FETCHES_OFFSET);
    out->hits = read_reg(SPRINT_S_HITS_OFFSET);
    out->evicts = read_reg(SPRINT_S_EVICTS_OFFSET);
    out->xbar_reads = read_reg(SPRINT_S_XBAR_READS_OFFSET);
    out->mac_cycles = read_reg(SPRINT_S_MAC_CYCLES_OFFSET);
    return 0;
}
// ANCHOR_END: run_head

int main(void)
{
    struct head_config cfg = {-40, 1234, 512, 32, 0, 0};
    struct head_counters c = {0, 0, 0, 0, 0, 0, 0};
    int status;

#ifdef SPRINT_S_STUB
    stub_block[SPRINT_S_STATUS_INDEX] = SPRINT_S_STATUS_DONE_MASK;
#endif
    status = run_head(&cfg, &c, 1000000L);
    if (status != 0) {
        fprintf(stderr, "run_head failed: %d\n", status);
        return 1;
    }
    printf("cycles %lu kept %lu fetches %lu hits %lu evicts %lu xbar_reads %lu mac_cycles %lu\n",
           (unsigned long)c.cycles, (unsigned long)c.kept, (unsigned long)c.fetches,
           (unsigned long)c.hits, (unsigned long)c.evicts, (unsigned long)c.xbar_reads,
           (unsigned long)c.mac_cycles);
#ifdef SPRINT_S_STUB
    // What the program wrote, word by word, for the test to check.
    {
        uint32_t i;
        for (i = 0; i < SPRINT_S_REG_COUNT; i++) {
            printf("reg %lu 0x%08lx\n", (unsigned long)i, (unsigned long)stub_block[i]);
        }
    }
#endif
    return 0;
}
