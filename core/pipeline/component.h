#pragma once
// The three component roles inside the core. Built-in components implement these directly;
// plugin components are wrapped by plugin::PluginSource/PluginStage/PluginSink.
// Configuration time may throw (std::runtime_error and friends); the data path returns Result.
#include <memory>
#include <string>
#include <string_view>

#include "event/event.h"
#include "event/result.h"

namespace omniloop::pipeline {

// The data path's outcome (event/result.h): the store returns the same type.
using Status = event::Status;
using Result = event::Result;
using event::toString;

class Source {
 public:
  virtual ~Source() = default;
  // Restore the position from a committed cursor (called once before the first read).
  virtual Result resume(std::string_view cursor) = 0;
  // Append up to max_events events to `batch` and set batch.cursor.
  // Ok: appended (maybe 0); Idle: nothing now; End: finished; Retry/Error as named.
  virtual Result read(event::Batch& batch, size_t max_events) = 0;
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Transform live events in place; set Drop / DeadLetter dispositions (with a reason) and
  // routes. A returned Error dead-letters the whole batch's live events with its message.
  virtual Result process(event::Batch& batch) = 0;
  // Called before process() when the batch holds DeadLetter events (dead-lettered by the source
  // after parsing, or by an earlier stage): a stage that masks personal data (`mask`) masks
  // them too, so a dead letter keeps no more personal data than a stored event would.
  // Records the source could not parse (Event::raw) are sealed by the store instead.
  virtual Result processDeadLetters(event::Batch& batch) {
    (void)batch;
    return Result::ok();
  }

  // A stage whose work runs elsewhere (an isolated plugin's worker process) may overlap
  // batches: begin() hands a batch over and returns without waiting, finish() waits for that
  // batch and applies the result (what process() returns). The executor then prepares and
  // begins the next batch while the previous one is being processed. Batches are begun and
  // finished in the same order, each begun batch is finished exactly once, and at most three
  // are begun and not finished (one being finished, one handed over, one being begun; a stage
  // that takes fewer blocks in begin()). The executor calls them instead of process() for the
  // first stage of a pipeline that overlaps; process() for the others.
  virtual bool overlaps() const { return false; }
  virtual void begin(event::Batch& batch) { (void)batch; }
  virtual Result finish(event::Batch& batch) { return process(batch); }
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Write every live (Keep) event. An event that cannot be written may be set DeadLetter.
  virtual Result write(event::Batch& batch) = 0;
  // Make writes durable before the cursor is committed; a sink that commits the cursor itself
  // commits here what it deferred (Batch::more_pending). Called when the executor stops.
  virtual Result flush() { return Result::ok(); }
  // True when write() itself commits batch.cursor (and the batch's dead letters) atomically
  // with the events, as the CDP store sink does; the executor then commits nothing itself.
  virtual bool commitsCursor() const { return false; }
};

// Where checkpoints and dead letters go when no sink commits them: the CDP store, adapted by
// StoreCheckpoints (pipeline/sinks/cdp_sink.h; the store itself knows nothing of the pipeline).
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual std::string loadCursor(std::string_view pipeline, std::string_view source_id) = 0;
  // One transaction: the batch's DeadLetter events, then the cursor.
  virtual void commit(std::string_view pipeline, std::string_view source_id,
                      const event::Batch& batch) = 0;
};

}  // namespace omniloop::pipeline
