#include "mat/synth/pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/core/utc_time.h"
#include "mat/synth/file_code.h"
#include "mat/synth/file_stages.h"
#include "mat/synth/image_pool.h"
#include "mat/synth/prompts.h"
#include "mat/synth/queries.h"
#include "mat/synth/query_dedupe.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;

constexpr int kMaxFruitlessBatches = 5;  // in a row: failed, or nothing new added
constexpr size_t kMaxObservationChars = 2000;
constexpr int kMaxDeferredInARow = 3;  // plus the workers' count

// A unit that could not finish for a reason outside the task: not recorded, run again later.
class Deferred : public core::Error {
 public:
  using core::Error::Error;
};

std::string clipped(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  return text.substr(0, limit) + "\n[... " + std::to_string(text.size() - limit) + " bytes cut]";
}

template <typename T>
T field(const Json& json, const char* name, const T& fallback) {
  const auto it = json.find(name);
  if (it == json.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    throw core::Error(std::string("the run's config.json: \"") + name + "\" has the wrong type");
  }
}

std::string files_text(const std::vector<fs::path>& files) {
  if (files.empty()) return "(none)";
  std::string text;
  for (const fs::path& file : files) {
    text += "- " + file.filename().string() + " (" + agent::file_type_of(file) + ")\n";
  }
  return text;
}

// The files made for a task (by the file stages), in name order.
std::vector<fs::path> task_files(const fs::path& run_dir, std::int64_t id) {
  std::vector<fs::path> files;
  const fs::path folder = task_dir(run_dir, id) / "files";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string steps_text(const agent::Trajectory& trajectory) {
  std::string text;
  for (const agent::Step& step : trajectory.steps) {
    text += "Step " + std::to_string(step.index + 1) + "\nThought: " + step.thought + "\nCode:\n" +
            step.code + "\n";
    if (step.observation) {
      text += "Printed:\n" + clipped(*step.observation, kMaxObservationChars) + "\n";
    }
    if (step.error) text += "Error: " + clipped(*step.error, kMaxObservationChars) + "\n";
    text += "\n";
  }
  return text.empty() ? "(no steps)" : text;
}

class Run {
 public:
  Run(const fs::path& run_dir, const RunConfig& config, Store& store, const PipelineDeps& deps,
      const RunOptions& options)
      : run_dir_(run_dir),
        config_(config),
        store_(store),
        deps_(limited(deps, options.limiter)),
        options_(options),
        shard_(options.shard.value_or(Shard{})),
        seeds_(parse_seeds(builtin_seeds(config.seeds))) {}

  RunSummary go() {
    want_batches_ = !options_.only_stage || *options_.only_stage == stage::kQueries;
    want_tasks_ = !options_.only_stage || *options_.only_stage != stage::kQueries;
    if (ImagePool::exists(run_dir_)) pool_ = std::make_unique<ImagePool>(ImagePool::load(run_dir_));
    if (deps_.embedder) {
      dedupe_ = std::make_unique<QueryDedupe>(run_dir_, *deps_.embedder, config_.dedupe_similarity,
                                              store_);
    }
    for (const std::int64_t batch : store_.batch_ids()) recorded_batches_.insert(batch);
    taken_batches_ = recorded_batches_;
    {
      std::lock_guard lock(mutex_);
      // The recorded batches are screened again from the first (the kept tasks' embeddings make
      // the index; the marks made before are made again, the same), so embedder failures throw
      // here rather than in a worker.
      queue_ready_tasks();
    }
    total_tasks_ = store_.task_count();
    save_agent_prompt();
    const int workers = std::max(1, options_.concurrency);
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) threads.emplace_back([this] { work(); });
    for (std::thread& thread : threads) thread.join();
    if (failure_) std::rethrow_exception(failure_);
    summary_.budget_reached = options_.limiter != nullptr && options_.limiter->budget_reached();
    summary_.interrupted =
        !summary_.budget_reached && (interrupted_ || core::interrupt_requested());
    return summary_;
  }

 private:
  void save_agent_prompt() {
    if (deps_.agent_prompt_version.empty()) return;
    const fs::path path = run_dir_ / "prompts" / (deps_.agent_prompt_version + ".json");
    if (fs::exists(path)) return;
    fs::create_directories(path.parent_path());
    core::write_json_file(path, {{"version", deps_.agent_prompt_version},
                                 {"system_prompt", deps_.agent_system_prompt}});
  }

  static PipelineDeps limited(PipelineDeps deps, CallLimiter* limiter) {
    if (limiter == nullptr) return deps;
    deps.models = [inner = deps.models, limiter](const std::string& stage) {
      return limited_model(inner(stage), stage, *limiter);
    };
    return deps;
  }

  std::int64_t per_batch() const { return std::max(1, config_.queries_per_batch); }

  // The next batch of this run's slice not recorded yet, from `next_batch_` on.
  std::int64_t next_missing_batch() {
    while (!shard_.has(next_batch_) || taken_batches_.count(next_batch_) != 0) ++next_batch_;
    return next_batch_;
  }

  bool batch_needed() {
    if (!want_batches_ || fruitless_ >= kMaxFruitlessBatches) return false;
    if (options_.shard) {  // its slice of the batches an unsharded run starts with
      const std::int64_t last = (options_.tasks + per_batch() - 1) / per_batch();
      return next_missing_batch() <= last;
    }
    // Only a batch that is needed even if those in flight bring all they can: the batches made
    // are then 1..B for the smallest B that holds `tasks` live tasks, whatever order they
    // finish in.
    const std::int64_t missing = options_.tasks - total_tasks_;
    return missing > 0 && missing > batches_in_flight_ * per_batch();
  }

  // Queues the live tasks of the batches that now follow an unbroken run of recorded batches
  // (of this slice), in id order: a task is queued only once no batch before it can still bring
  // a lower id with the same query, so which tasks run does not depend on finishing order.
  void queue_ready_tasks() {
    for (;;) {
      std::int64_t next = ready_up_to_ + 1;
      while (!shard_.has(next)) ++next;
      if (recorded_batches_.count(next) == 0) break;
      ready_up_to_ = next;
    }
    // Near-duplicates are screened here, once no batch before can still bring a lower id: which
    // task survives is the one of lower id, whatever order the batches finished in. The batches'
    // queries were embedded when they were made, so this asks the embedder nothing (except for
    // batches recorded by an earlier process without their embeddings).
    if (dedupe_ && ready_up_to_ > screened_up_to_) {
      dedupe_->screen(store_.live_tasks_in_batches(screened_up_to_, ready_up_to_));
      screened_up_to_ = ready_up_to_;
    }
    if (!want_tasks_ || ready_up_to_ <= queued_up_to_) return;
    for (const TaskRow& row : store_.live_tasks_in_batches(queued_up_to_, ready_up_to_)) {
      if (!shard_.has(row.batch)) continue;
      const bool wanted = options_.shard ? row.id <= options_.tasks : queued_ < options_.tasks;
      if (!wanted) continue;
      queue_.push_back(row.id);
      ++queued_;
    }
    queued_up_to_ = ready_up_to_;
  }

  void work() {
    std::unique_lock lock(mutex_);
    while (!failure_ && !stop_ && !core::interrupt_requested()) {
      if (!queue_.empty()) {
        const std::int64_t id = queue_.front();
        queue_.pop_front();
        lock.unlock();
        guarded([&] { process_task(id); });
        lock.lock();
        continue;
      }
      if (batch_needed()) {
        const std::int64_t batch = next_missing_batch();
        taken_batches_.insert(batch);  // no other worker makes it
        ++batches_in_flight_;
        lock.unlock();
        bool recorded = false;
        guarded([&] {
          run_batch(batch);
          recorded = true;
        });
        lock.lock();
        --batches_in_flight_;
        if (recorded) {
          recorded_batches_.insert(batch);
          try {  // the embedder, for a batch another process recorded: the run cannot go on
            queue_ready_tasks();
          } catch (...) {
            if (!failure_) failure_ = std::current_exception();
          }
          total_tasks_ = store_.task_count();  // less the near-duplicates just marked
        } else {
          taken_batches_.erase(batch);  // deferred or interrupted: still to make
          next_batch_ = std::min(next_batch_, batch);
        }
        changed_.notify_all();
        continue;
      }
      if (batches_in_flight_ > 0) {
        changed_.wait(lock);
        continue;
      }
      break;
    }
    changed_.notify_all();
  }

  template <typename F>
  void guarded(F&& body) {
    try {
      body();
    } catch (const core::Interrupted&) {
      // The unit in flight stays unrecorded (it runs again next time), and the run stops.
      std::lock_guard lock(mutex_);
      stop_ = interrupted_ = true;
    } catch (const Deferred& deferred) {
      defer(deferred.what());
    } catch (const llm::ModelError& error) {  // transient: the teacher is unreachable or busy
      defer(error.what());
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
  }

  // A unit left for a later run because the teacher failed transiently. Too many in a row, and
  // the run stops: the teacher is down, and every further unit would only wait out its retries.
  void defer(const std::string& reason) {
    std::lock_guard lock(mutex_);
    ++summary_.deferred;
    summary_.last_deferral = reason;
    if (++deferred_in_a_row_ >= kMaxDeferredInARow + options_.concurrency) stop_ = true;
  }

  void recorded(const std::string& line) {
    std::lock_guard lock(mutex_);
    deferred_in_a_row_ = 0;
    if (options_.on_recorded) options_.on_recorded(line);
  }

  void run_batch(std::int64_t batch) {
    const StagePrompt prompt = builtin_prompt(config_.queries_prompt);
    const auto examples = draw_examples(seeds_, config_.seed, batch, config_.examples_per_batch);
    const std::string text =
        queries_prompt(prompt.text, examples, deps_.tools, config_.queries_per_batch);
    llm::GenerationParams params;
    params.seed = static_cast<int>((config_.seed + static_cast<std::uint64_t>(batch)) & 0x7fffffff);
    const TeacherAnswer answer = ask_json(
        *deps_.models(stage::kQueries), {llm::ChatMessage::text(llm::Role::kUser, text)}, params,
        check_queries, config_.max_parse_attempts, {&store_, stage::kQueries, std::nullopt, batch});
    BatchOutcome outcome;
    outcome.id = batch;
    outcome.status = answer.value ? status::kDone : status::kFailed;
    outcome.error = answer.error;
    outcome.prompt_version = prompt.version;
    outcome.tokens_in = answer.tokens_in;
    outcome.tokens_out = answer.tokens_out;
    std::vector<QuerySpec> queries;
    if (answer.value) queries = queries_from(*answer.value);
    outcome.proposed = static_cast<int>(queries.size());
    if (dedupe_) dedupe_->embed(queries);  // compared once the earlier batches are recorded
    const std::vector<std::int64_t> added = store_.add_batch(outcome, queries, per_batch());
    recorded("query batch " + std::to_string(batch) + ": " +
             (answer.value ? std::to_string(added.size()) + " new task(s) of " +
                                 std::to_string(queries.size()) + " proposed"
                           : "failed (" + answer.error + ")"));
    std::lock_guard lock(mutex_);
    ++summary_.batches;
    summary_.tasks_added += static_cast<std::int64_t>(added.size());
    // Counted again (under the lock, so that counts land in order), not added up: a batch of
    // lower id may have made one of ours a repeat.
    total_tasks_ = store_.task_count();
    fruitless_ = added.empty() ? fruitless_ + 1 : 0;
    if (fruitless_ >= kMaxFruitlessBatches) {
      summary_.stopped = std::to_string(kMaxFruitlessBatches) +
                         " query batches in a row added no new task" +
                         (answer.error.empty() ? "" : "; the last failed: " + answer.error);
    }
  }

  // Runs the stages of task `id` that remain (or only options_.only_stage), in order, stopping
  // at the first that rejects or fails the task.
  void process_task(std::int64_t id) {
    const std::optional<TaskRow> row = store_.task(id);
    if (!row) return;
    std::string query = row->spec.query;
    for (const std::string& name : task_stages()) {
      if (core::interrupt_requested()) return;
      std::optional<StageResult> result = store_.result(id, name);
      if (!result) {
        if (!stage_applies(name, *row, store_)) continue;  // a file stage with nothing to make
        if (options_.only_stage && *options_.only_stage != name) return;
        result = run_stage(name, *row, query);
        if (!result) {  // interrupted: nothing recorded, and the run stops
          std::lock_guard lock(mutex_);
          stop_ = interrupted_ = true;
          return;
        }
        store_.put_result(id, name, *result);
        recorded(task_name(id) + " " + name + ": " + result->status +
                 (result->error.empty() ? "" : " (" + clipped(result->error, 200) + ")"));
        std::lock_guard lock(mutex_);
        ++summary_.units;
      }
      if (result->status == status::kFailed) return;
      if (result->status == status::kRejected && config_.verifiers_stop_tasks) return;
      if (name == stage::kVerifyFiles && result->status == status::kRewritten) {
        query = result->output.value("updated_query", query);
      }
    }
  }

  std::optional<StageResult> run_stage(const std::string& name, const TaskRow& row,
                                       const std::string& query) {
    const FileStageContext files{run_dir_,   config_, store_, deps_.models, deps_.embedder.get(),
                                 pool_.get()};
    if (name == stage::kFileContents) return run_file_contents(files, row);
    if (name == stage::kFileCode) return run_file_code(files, row);
    if (name == stage::kImages) return run_images(files, row);
    if (name == stage::kVerifyFiles) return verify_files(row, query);
    if (name == stage::kTrajectory) return trajectory(row, query);
    return verify_trajectory(row);
  }

  StageResult verdict_result(const TeacherAnswer& answer, const std::string& version,
                             bool rewrite) {
    StageResult result;
    result.prompt_version = version;
    result.tokens_in = answer.tokens_in;
    result.tokens_out = answer.tokens_out;
    if (!answer.value) {
      result.status = status::kFailed;
      result.error = answer.error;
      return result;
    }
    result.output = *answer.value;
    const bool yes = result.output["verdict"] == "yes";
    const Json update = result.output.value("updated_query", Json());
    if (yes) {
      result.status = status::kAccepted;
    } else if (rewrite && update.is_string() &&
               !normalised_text(update.get<std::string>()).empty()) {
      result.status = status::kRewritten;
    } else {
      result.status = status::kRejected;
      result.error = result.output["reason"].get<std::string>();
    }
    return result;
  }

  StageResult verify_files(const TaskRow& row, const std::string& query) {
    const StagePrompt prompt = builtin_prompt(config_.verify_files_prompt);
    const std::vector<fs::path> files = task_files(run_dir_, row.id);
    const std::string text = fill(prompt.text, {{"query", query}, {"files", files_text(files)}});
    llm::ChatMessage message = llm::ChatMessage::text(llm::Role::kUser, text);
    if (!files.empty()) message.parts.push_back(llm::ContentPart::from_text("\nThe files:\n"));
    for (llm::ContentPart& part : shown_files(files)) message.parts.push_back(std::move(part));
    const TeacherAnswer answer =
        ask_json(*deps_.models(stage::kVerifyFiles), {message}, {},
                 [](const Json& value) { return check_verdict(value, true); },
                 config_.max_parse_attempts, {&store_, stage::kVerifyFiles, row.id, std::nullopt});
    return verdict_result(answer, prompt.version, true);
  }

  std::optional<StageResult> trajectory(const TaskRow& row, const std::string& query) {
    const fs::path folder = task_dir(run_dir_, row.id) / "agent";
    const agent::RunPaths paths = agent::RunPaths::under(folder);
    paths.reclaim();  // a run killed before may have left its sandbox's files
    fs::remove_all(folder);
    std::vector<fs::path> files = task_files(run_dir_, row.id);
    agent::Task task{.id = task_name(row.id), .text = query, .files = files};
    const std::shared_ptr<llm::ChatModel> teacher = deps_.models(stage::kTrajectory);
    const auto recorded =
        recording_model(*teacher, {&store_, stage::kTrajectory, row.id, std::nullopt});
    agent::Trajectory record = deps_.run_agent(*recorded, task, paths);
    if (record.end_reason == agent::end_reason::kInterrupted) return std::nullopt;
    if (record.end_reason == agent::end_reason::kModelError ||
        record.end_reason == agent::end_reason::kSandboxError) {
      // The teacher or the sandbox failed, not the task: left for a later run.
      throw Deferred("task " + task_name(row.id) + "'s trajectory ended with " + record.end_reason +
                     (record.error ? ": " + *record.error : ""));
    }
    record.source = {{"pipeline", "mat synth"}, {"task", task_name(row.id)}, {"batch", row.batch}};
    StageResult result;
    result.prompt_version = record.prompt_version;
    for (const agent::Step& step : record.steps) {
      result.tokens_in += step.tokens_in;
      result.tokens_out += step.tokens_out;
    }
    if (record.succeeded()) {
      result.status = status::kDone;
    } else {
      result.status = status::kFailed;
      result.error = "the agent's run ended with " + record.end_reason +
                     (record.error ? ": " + clipped(*record.error, 300) : "");
    }
    result.output = record.to_json();
    return result;
  }

  StageResult verify_trajectory(const TaskRow& row) {
    const std::optional<StageResult> previous = store_.result(row.id, stage::kTrajectory);
    const agent::Trajectory record = agent::Trajectory::from_json(previous->output);
    const StagePrompt prompt = builtin_prompt(config_.verify_trajectory_prompt);
    std::vector<fs::path> files;
    for (const agent::FileRef& file : record.files) files.emplace_back(file.path);
    const std::string text =
        fill(prompt.text, {{"query", record.task},
                           {"files", files_text(files)},
                           {"steps", steps_text(record)},
                           {"final_answer", record.final_answer.value_or("(none)")}});
    const TeacherAnswer answer = ask_json(
        *deps_.models(stage::kVerifyTrajectory), {llm::ChatMessage::text(llm::Role::kUser, text)},
        {}, [](const Json& value) { return check_verdict(value, false); },
        config_.max_parse_attempts, {&store_, stage::kVerifyTrajectory, row.id, std::nullopt});
    return verdict_result(answer, prompt.version, false);
  }

  const fs::path run_dir_;
  const RunConfig& config_;
  Store& store_;
  const PipelineDeps deps_;  // with every model behind the limiter
  const RunOptions& options_;
  const Shard shard_;
  const std::vector<QuerySpec> seeds_;
  std::unique_ptr<ImagePool> pool_;      // the run's, when it has one
  std::unique_ptr<QueryDedupe> dedupe_;  // with an embedder, when batches are made

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::int64_t> queue_;
  std::int64_t total_tasks_ = 0;
  std::int64_t next_batch_ = 1;
  std::set<std::int64_t> recorded_batches_;
  std::set<std::int64_t> taken_batches_;  // recorded or in flight
  std::int64_t ready_up_to_ = 0;          // batches 1..this (of the slice) are all recorded
  std::int64_t queued_up_to_ = 0;         // the tasks of batches 1..this were queued
  std::int64_t screened_up_to_ = 0;       // the tasks of batches 1..this were de-duplicated
  std::int64_t queued_ = 0;
  std::int64_t batches_in_flight_ = 0;
  int fruitless_ = 0;
  bool want_batches_ = true;
  bool want_tasks_ = true;
  bool stop_ = false;         // take no more work
  bool interrupted_ = false;  // because of an interrupt
  int deferred_in_a_row_ = 0;
  std::exception_ptr failure_;
  RunSummary summary_;
};

}  // namespace

Json RunConfig::to_json() const {
  return {{"teacher", {{"model", teacher_model}, {"base_url", teacher_base_url}}},
          {"seed", seed},
          {"queries_per_batch", queries_per_batch},
          {"examples_per_batch", examples_per_batch},
          {"max_parse_attempts", max_parse_attempts},
          {"max_steps", max_steps},
          {"max_errors", max_errors},
          {"agent_prompt", agent_prompt},
          {"agent_tools", agent_tools},
          {"prompts",
           {{"queries", queries_prompt},
            {"verify_files", verify_files_prompt},
            {"verify_trajectory", verify_trajectory_prompt},
            {"seeds", seeds},
            {"file_contents", file_contents_prompt},
            {"file_code", file_code_prompt}}},
          {"file_code_timeout_s", file_code_timeout_s},
          {"embedder", {{"model", embedder_model}, {"base_url", embedder_base_url}}},
          {"dedupe_similarity", dedupe_similarity},
          {"images", {{"pool", images}, {"captions", captions}}},
          {"verifiers_stop_tasks", verifiers_stop_tasks},
          {"prices", prices}};
}

RunConfig RunConfig::from_json(const Json& json) {
  if (!json.is_object()) throw core::Error("the run's config.json is not a JSON object");
  RunConfig config;
  const Json teacher = json.value("teacher", Json::object());
  config.teacher_model = field<std::string>(teacher, "model", "");
  config.teacher_base_url = field<std::string>(teacher, "base_url", "");
  if (config.teacher_model.empty()) {
    throw core::Error("the run's config.json names no teacher model (\"teacher\": {\"model\"})");
  }
  config.seed = field<std::uint64_t>(json, "seed", 0);
  config.queries_per_batch = field<int>(json, "queries_per_batch", config.queries_per_batch);
  config.examples_per_batch = field<int>(json, "examples_per_batch", config.examples_per_batch);
  config.max_parse_attempts = field<int>(json, "max_parse_attempts", config.max_parse_attempts);
  config.max_steps = field<int>(json, "max_steps", config.max_steps);
  config.max_errors = field<int>(json, "max_errors", config.max_errors);
  config.agent_prompt = field<std::string>(json, "agent_prompt", config.agent_prompt);
  config.agent_tools = field<std::vector<std::string>>(json, "agent_tools", {});
  const Json prompts = json.value("prompts", Json::object());
  config.queries_prompt = field<std::string>(prompts, "queries", config.queries_prompt);
  config.verify_files_prompt =
      field<std::string>(prompts, "verify_files", config.verify_files_prompt);
  config.verify_trajectory_prompt =
      field<std::string>(prompts, "verify_trajectory", config.verify_trajectory_prompt);
  config.seeds = field<std::string>(prompts, "seeds", config.seeds);
  config.file_contents_prompt =
      field<std::string>(prompts, "file_contents", config.file_contents_prompt);
  config.file_code_prompt = field<std::string>(prompts, "file_code", config.file_code_prompt);
  config.file_code_timeout_s = field<int>(json, "file_code_timeout_s", config.file_code_timeout_s);
  const Json embedder = json.value("embedder", Json::object());
  config.embedder_model = field<std::string>(embedder, "model", "");
  config.embedder_base_url = field<std::string>(embedder, "base_url", "");
  config.dedupe_similarity = field<double>(json, "dedupe_similarity", config.dedupe_similarity);
  const Json images = json.value("images", Json::object());
  config.images = field<std::string>(images, "pool", "");
  config.captions = field<std::string>(images, "captions", "");
  config.verifiers_stop_tasks =
      field<bool>(json, "verifiers_stop_tasks", config.verifiers_stop_tasks);
  config.prices = json.value("prices", Json::object());
  price_of(config.prices, config.teacher_model);  // mistyped prices fail now, not mid-run
  return config;
}

const std::vector<std::string>& task_stages() {
  static const std::vector<std::string> stages{stage::kFileContents, stage::kFileCode,
                                               stage::kImages,       stage::kVerifyFiles,
                                               stage::kTrajectory,   stage::kVerifyTrajectory};
  return stages;
}

const std::vector<std::string>& all_stages() {
  static const std::vector<std::string> stages{
      stage::kQueries,     stage::kFileContents, stage::kFileCode,        stage::kImages,
      stage::kVerifyFiles, stage::kTrajectory,   stage::kVerifyTrajectory};
  return stages;
}

void init_run(const fs::path& run_dir, const RunConfig& config, llm::Embedder* embedder,
              const std::function<void(size_t done, size_t total)>& progress) {
  if (fs::exists(run_dir / kConfigFile)) {
    throw core::Error(run_dir.string() +
                      " holds a synth run already; run it with `mat synth run`, or choose "
                      "another folder");
  }
  // Fail now, not mid-run, on a prompt or seed set that does not exist.
  builtin_prompt(config.queries_prompt);
  builtin_prompt(config.verify_files_prompt);
  builtin_prompt(config.verify_trajectory_prompt);
  builtin_prompt(config.file_contents_prompt);
  builtin_prompt(config.file_code_prompt);
  if (!config.images.empty() && embedder == nullptr) {
    throw core::Error(
        "an image pool is searched by embedding: give the embedder's model with "
        "--embedder MODEL");
  }
  parse_seeds(builtin_seeds(config.seeds));
  std::error_code error;
  fs::create_directories(run_dir, error);
  if (error) throw core::Error("cannot create " + run_dir.string() + ": " + error.message());
  Json json = config.to_json();
  json["created_at"] = core::utc_now();
  { Store store(run_dir); }
  if (!config.images.empty()) {
    const fs::path captions = config.captions.empty() ? fs::path(config.images) / kCaptionsFile
                                                      : fs::path(config.captions);
    build_image_pool(run_dir, config.images, captions, *embedder, progress);
  }
  core::write_json_file(run_dir / kConfigFile, json);
}

RunConfig load_run_config(const fs::path& run_dir) {
  if (!fs::exists(run_dir / kConfigFile)) {
    throw core::Error(run_dir.string() +
                      " is not a synth run (no config.json); create one with `mat synth init`");
  }
  return RunConfig::from_json(core::read_json_file(run_dir / kConfigFile));
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const auto number = [&](const std::string& part) {
    if (part.empty() || part.size() > 6 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return -1;
    }
    return std::stoi(part);
  };
  const int index = slash == std::string::npos ? -1 : number(text.substr(0, slash));
  const int count = slash == std::string::npos ? -1 : number(text.substr(slash + 1));
  if (index < 1 || count < 1 || index > count) {
    throw core::Error("--shard \"" + text +
                      "\" is not i/n with 1 ≤ i ≤ n (e.g. 2/4: the second of four shards)");
  }
  return {index - 1, count};
}

std::string task_name(std::int64_t id) {
  std::string digits = std::to_string(id);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return "t" + digits;
}

fs::path task_dir(const fs::path& run_dir, std::int64_t id) {
  return run_dir / "tasks" / task_name(id);
}

RunSummary run_pipeline(const fs::path& run_dir, const RunConfig& config, Store& store,
                        const PipelineDeps& deps, const RunOptions& options) {
  if (options.only_stage && std::find(all_stages().begin(), all_stages().end(),
                                      *options.only_stage) == all_stages().end()) {
    throw core::Error("unknown stage \"" + *options.only_stage +
                      "\"; the stages are queries, file_contents, file_code, images, verify_files, "
                      "trajectory, verify_trajectory");
  }
  Run run(run_dir, config, store, deps, options);
  return run.go();
}

}  // namespace mat::synth
