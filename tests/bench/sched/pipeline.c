/*
 * A fan-out/fan-in pipeline over buffered channels (pipeline.go is the Go
 * side): a generator sends 1..n into the first channel; PIPELINE_STAGES
 * stages of PIPELINE_WORKERS goroutines each read from one channel,
 * transform the value and send it into the next; main sums what comes out of
 * the last. When a stage's input is closed and drained, its last worker to
 * finish closes its output, so closing ripples down the pipeline. The sum is
 * checked.
 *
 * Per item: PIPELINE_STAGES + 1 sends and receives on buffered channels,
 * several goroutines contending for each channel's lock, and -- whenever a
 * channel runs full or empty -- parking and readying.
 */
#include "bench.h"
#include "chan.h"

#define PIPELINE_STAGES 4
#define PIPELINE_WORKERS 4
#define PIPELINE_CAPACITY 128

// The same cheap, order-independent transformation in both languages.
static uint64_t pipeline_transform(uint64_t value)
{
    return value * 3 + 1;
}

struct pipeline_stage {
    struct chan *in, *out;
    int32_t remaining;   // workers still running; the last closes `out`
};

static void pipeline_worker(void *argument)
{
    struct pipeline_stage *stage = argument;
    uint64_t value;
    while (chan_receive_ok(stage->in, &value)) {
        value = pipeline_transform(value);
        chan_send(stage->out, &value);
    }
    if (__atomic_sub_fetch(&stage->remaining, 1, __ATOMIC_ACQ_REL) == 0)
        chan_close(stage->out);
}

struct pipeline_generator {
    struct chan *out;
    uint64_t n;
};

static void pipeline_generate(void *argument)
{
    struct pipeline_generator *generator = argument;
    for (uint64_t i = 1; i <= generator->n; i++)
        chan_send(generator->out, &i);
    chan_close(generator->out);
}

uint64_t bench_pipeline(uint64_t n)
{
    struct chan *channels[PIPELINE_STAGES + 1];
    for (int i = 0; i <= PIPELINE_STAGES; i++)
        channels[i] = chan_make(sizeof(uint64_t), PIPELINE_CAPACITY);
    struct pipeline_stage stages[PIPELINE_STAGES];
    struct pipeline_generator generator = { channels[0], n };

    uint64_t start = nanotime();
    for (int i = 0; i < PIPELINE_STAGES; i++) {
        stages[i] = (struct pipeline_stage){ channels[i], channels[i + 1], PIPELINE_WORKERS };
        for (int worker = 0; worker < PIPELINE_WORKERS; worker++)
            go(pipeline_worker, &stages[i]);
    }
    go(pipeline_generate, &generator);
    uint64_t sum = 0, count = 0, value;
    while (chan_receive_ok(channels[PIPELINE_STAGES], &value)) {
        sum += value;
        count++;
    }
    uint64_t elapsed = nanotime() - start;

    uint64_t want = 0;
    for (uint64_t i = 1; i <= n; i++) {
        value = i;
        for (int stage = 0; stage < PIPELINE_STAGES; stage++)
            value = pipeline_transform(value);
        want += value;
    }
    if (count != n || sum != want)
        bench_fail("pipeline: %llu values summing to %llu; want %llu summing to %llu", (unsigned long long)count,
                   (unsigned long long)sum, (unsigned long long)n, (unsigned long long)want);
    // `stages` and `generator` live in this frame: safe, because main gets
    // here only after every channel was closed, and closing is the last
    // thing each goroutine does with them. The channels are not freed: the
    // last closers may still be inside chan_close (Go's would be garbage
    // once they return); the program ends soon anyway.
    return elapsed;
}
