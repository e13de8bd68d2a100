#include "mat/engine/batch_scheduler.h"

#include <algorithm>

namespace mat::engine {

BatchScheduler::BatchScheduler(LocalEngine& engine, SchedulerOptions options)
    : engine_(engine), options_(options) {
  options_.max_batch = std::max<std::size_t>(1, options_.max_batch);
  options_.max_queue = std::max(options_.max_queue, options_.max_batch);
  worker_ = std::thread([this] { work(); });
}

BatchScheduler::~BatchScheduler() {
  stop();
}

std::future<GenerationResult> BatchScheduler::submit(const std::shared_ptr<Job>& job) {
  std::future<GenerationResult> future = job->result.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw QueueFull("the server is shutting down");
    if (waiting_.size() + running_ >= options_.max_queue) {
      throw QueueFull("the server is busy: " + std::to_string(options_.max_queue) +
                      " requests are queued or running; retry later");
    }
    waiting_.push_back(job);
  }
  wake_.notify_one();
  return future;
}

void BatchScheduler::stop() {
  std::deque<std::shared_ptr<Job>> abandoned;
  {
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true)) return;
    abandoned.swap(waiting_);
  }
  wake_.notify_one();
  for (const auto& job : abandoned) {
    job->result.set_exception(
        std::make_exception_ptr(QueueFull("the server shut down before the request ran")));
  }
  if (worker_.joinable()) worker_.join();
}

std::size_t BatchScheduler::pending() const {
  std::lock_guard lock(mutex_);
  return waiting_.size() + running_;
}

void BatchScheduler::work() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;
      // The oldest job decides the adapter; later jobs with the same adapter join it, in order.
      const std::string adapter = waiting_.front()->adapter;
      for (auto it = waiting_.begin(); it != waiting_.end() && batch.size() < options_.max_batch;) {
        if ((*it)->adapter == adapter) {
          batch.push_back(*it);
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
      running_ = batch.size();
    }
    run(batch);
    std::lock_guard lock(mutex_);
    running_ = 0;
  }
}

void BatchScheduler::run(std::vector<std::shared_ptr<Job>>& batch) {
  auto requests_of = [this](const std::vector<std::shared_ptr<Job>>& jobs) {
    std::vector<GenerationRequest> requests;
    for (const auto& job : jobs) {
      Job* j = job.get();
      TextCallback on_text;
      if (j->on_text) {
        on_text = [j](std::string_view piece) {
          j->streamed = true;
          j->on_text(piece);
        };
      }
      requests.push_back(
          {&j->prompt, j->params, on_text, [this, j] { return stopping_ || j->cancelled; }});
    }
    return requests;
  };
  try {
    std::vector<GenerationResult> results =
        engine_.generate_batch(requests_of(batch), batch.front()->adapter);
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i]->result.set_value(std::move(results[i]));
    return;
  } catch (const std::exception&) {
    const std::exception_ptr error = std::current_exception();
    if (batch.size() == 1) return batch.front()->result.set_exception(error);
    for (const auto& job : batch) {
      if (job->streamed) job->result.set_exception(error);
    }
  }
  for (const auto& job : batch) {
    if (job->streamed) continue;
    try {
      job->result.set_value(
          std::move(engine_.generate_batch(requests_of({job}), job->adapter).front()));
    } catch (const std::exception&) {
      job->result.set_exception(std::current_exception());
    }
  }
}

}  // namespace mat::engine
