// The queue between `mat serve`'s HTTP threads and the engine: requests wait in a bounded queue
// and one worker decodes them in batches of up to `max_batch` that share an adapter (a batch
// reads the weights once per step for all its sequences). Memory stays bounded: a full queue
// refuses new requests at once instead of holding them.
//
//   BatchScheduler scheduler(engine, {.max_batch = 4, .max_queue = 16});
//   auto job = std::make_shared<Job>(prompt, params, "agent", on_text);
//   std::future<GenerationResult> done = scheduler.submit(job);   // throws QueueFull
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mat/core/error.h"
#include "mat/engine/local_engine.h"

namespace mat::engine {

struct Job {
  Job(PromptInput prompt_, SamplingParams params_, std::string adapter_, TextCallback on_text_)
      : prompt(std::move(prompt_)),
        params(std::move(params_)),
        adapter(std::move(adapter_)),
        on_text(std::move(on_text_)) {}

  PromptInput prompt;
  SamplingParams params;
  std::string adapter;                 // "" for the base model
  TextCallback on_text;                // called on the worker thread
  std::atomic<bool> cancelled{false};  // set by the client's side (it went away)
  std::promise<GenerationResult> result;
  bool streamed = false;  // some text reached on_text (worker thread only)
};

// submit() on a full queue or a stopped scheduler.
class QueueFull : public core::Error {
 public:
  using core::Error::Error;
};

struct SchedulerOptions {
  std::size_t max_batch = 4;   // sequences decoded together
  std::size_t max_queue = 16;  // requests waiting or running; more are refused
};

class BatchScheduler {
 public:
  BatchScheduler(LocalEngine& engine, SchedulerOptions options);
  ~BatchScheduler();  // stop()
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues `job`; its future holds the result or the core::Error that ended it.
  std::future<GenerationResult> submit(const std::shared_ptr<Job>& job);
  // Ends the running batch (its sequences finish as "cancelled"), fails the waiting jobs and
  // joins the worker. Idempotent.
  void stop();

  std::size_t pending() const;  // waiting and running

 private:
  void work();
  // Runs one batch; when it fails as a whole, each job that has streamed nothing yet runs alone,
  // so that one bad request fails only itself.
  void run(std::vector<std::shared_ptr<Job>>& batch);

  LocalEngine& engine_;
  SchedulerOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> waiting_;
  std::size_t running_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

}  // namespace mat::engine
