#include "mat/agent/agent.h"

#include <chrono>
#include <random>

#include "mat/agent/memory.h"
#include "mat/agent/parser.h"
#include "mat/agent/staging.h"
#include "mat/core/error.h"
#include "mat/core/image.h"
#include "mat/core/interrupt.h"
#include "mat/core/utc_time.h"

namespace mat::agent {

void RunPaths::reclaim() const {
  std::error_code error;
  if (std::filesystem::is_directory(work_dir, error)) sandbox::reclaim_work_dir(work_dir);
}

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kNoOutputHint =
    "Your code ran but printed nothing. Use print() to show the values you need in the next step.";

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string best_answer_prompt(std::string_view end_reason) {
  const std::string why = end_reason == end_reason::kMaxSteps
                              ? "You have used all the steps allowed for this task."
                              : "Your last steps all failed, so the run was stopped.";
  return why +
         " Based on everything above, reply now with your best final answer to the task, as "
         "plain text, without code.";
}

std::string cut_off_error(const llm::GenerationParams& params) {
  const std::string limit =
      params.max_tokens ? " of " + std::to_string(*params.max_tokens) + " tokens" : "";
  return "Your reply was cut off at the length limit" + limit +
         " before it was complete, so its code was not run. Write a shorter thought and less "
         "code per step.";
}

// The state of one run: its record, its sandbox and the encodings of its images.
class Run {
 public:
  Run(llm::ChatModel& model, const tools::ToolRegistry& registry, const PromptTemplate& prompt,
      const AgentOptions& options, const RunPaths& paths, RunObserver& observer)
      : model_(model),
        registry_(registry),
        prompt_(prompt),
        options_(options),
        run_dir_(fs::absolute(paths.run_dir)),
        work_dir_(fs::absolute(paths.work_dir)),
        observer_(observer),
        images_(options.images) {
    params_ = options_.generation;
    for (std::string& stop : step_stop_sequences()) params_.stop.push_back(std::move(stop));
  }

  Trajectory execute(const Task& task) {
    started_ = Clock::now();
    t_.id = task.id.empty() ? make_run_id() : task.id;
    t_.task = task.text;
    t_.tools = registry_.names();
    t_.prompt_version = prompt_.version;
    t_.model = model_.identity();
    t_.run_dir = run_dir_.string();
    t_.started_at = core::utc_now();
    try {
      observer_.on_run_start(t_);
      checkpoint();
      if (prepare(task)) loop();
    } catch (const core::Interrupted& e) {
      end(end_reason::kInterrupted, e.what());
    } catch (const std::exception& e) {
      end(end_reason::kInternalError, std::string("mat failed unexpectedly: ") + e.what() +
                                          " (please report this with the record)");
    }
    sandbox_.reset();  // the work dir is handed back before the record is final
    t_.wall_ms = ms_since(started_);
    observer_.on_run_end(t_);
    return std::move(t_);
  }

 private:
  // Stages the files and starts the sandbox; false (with the record's end set) when either fails.
  bool prepare(const Task& task) {
    try {
      fs::create_directories(run_dir_);
      fs::create_directories(work_dir_);
      work_.emplace(work_dir_);
      // The sandbox names artifacts under the canonical folder. Found once, here: the folder
      // itself is the host's, while paths below it are the code's to change, so they are only
      // ever handled lexically (resolving them could follow a link the code planted).
      canonical_work_dir_ = fs::canonical(work_dir_);
      t_.files = stage_files(task.files, *work_, run_dir_, images_);
    } catch (const std::exception& e) {
      return end(end_reason::kInputError, e.what());
    }
    sandbox::Options box;
    box.work_dir = work_dir_;
    box.allowed_imports = options_.allowed_imports;
    box.limits = options_.limits;
    box.unsafe_no_sandbox = options_.unsafe_no_sandbox;
    for (const tools::Tool* tool : registry_.tools()) {
      box.tools.push_back({tool->spec().name, tool->spec().input_names()});
    }
    core::Json attached = core::Json::array();
    for (const FileRef& file : t_.files) attached.push_back(file.path);
    box.variables[kAttachedFilesVariable] = std::move(attached);
    box.variables[kTaskVariable] = task.text;
    try {
      sandbox_ = std::make_unique<sandbox::Sandbox>(
          std::move(box),
          [this](const std::string& name, const core::Json& args, sandbox::Deadline step_ends) {
            return call_tool(name, args, step_ends);
          });
    } catch (const std::exception& e) {
      return end(end_reason::kSandboxError, e.what());
    }
    const auto& imports = options_.allowed_imports.empty() ? sandbox::default_allowed_imports()
                                                           : options_.allowed_imports;
    system_prompt_ = render_system_prompt(prompt_, registry_, imports);
    return true;
  }

  sandbox::ToolOutcome call_tool(const std::string& name, const core::Json& args,
                                 sandbox::Deadline step_ends) {
    sandbox::ToolOutcome outcome;
    const tools::Tool* tool = registry_.find(name);
    outcome.ends_run = tool != nullptr && tool->spec().ends_run;
    try {
      outcome.value = registry_.call(name, args, tools::ToolContext{work_dir_, step_ends});
    } catch (const std::exception& e) {
      outcome.ok = false;
      outcome.error = e.what();
      outcome.ends_run = false;
    }
    return outcome;
  }

  void loop() {
    int consecutive_errors = 0;
    for (int index = 0; index < options_.max_steps; ++index) {
      if (core::interrupt_requested()) throw core::Interrupted();
      observer_.on_step_start(index);
      Step step;
      step.index = index;
      llm::ChatResult reply;
      try {
        reply = ask_model(render_messages(system_prompt_, t_, run_dir_, images_), params_);
      } catch (const core::Interrupted& e) {
        keep_failed_reply(index, e.what());
        throw;
      } catch (const std::exception& e) {
        keep_failed_reply(index, e.what());
        end(end_reason::kModelError, e.what());
        return;
      }
      step.raw = reply.text;
      step.finish_reason = reply.finish_reason;
      step.tokens_in = reply.usage.prompt_tokens;
      step.tokens_out = reply.usage.completion_tokens;
      step.model_ms = reply.latency_ms;
      const bool finished = act(step);
      t_.steps.push_back(std::move(step));
      observer_.on_step_end(t_.steps.back());
      checkpoint();
      if (finished) {
        end(end_reason::kFinalAnswer, std::nullopt);
        return;
      }
      if (sandbox_failure_) {
        end(end_reason::kSandboxError, *sandbox_failure_);
        return;
      }
      if (core::interrupt_requested()) throw core::Interrupted();
      consecutive_errors = t_.steps.back().error ? consecutive_errors + 1 : 0;
      if (consecutive_errors >= options_.max_consecutive_errors) {
        cut_off(end_reason::kMaxErrors);
        return;
      }
    }
    cut_off(end_reason::kMaxSteps);
  }

  // A reply that failed part-way is kept in the record, with what had arrived of it.
  void keep_failed_reply(int index, const std::string& error) {
    if (partial_.empty()) return;
    Step step;
    step.index = index;
    step.raw = std::move(partial_);
    step.finish_reason = "error";
    step.error = "the model's reply failed part-way: " + error;
    t_.steps.push_back(std::move(step));
    checkpoint();
  }

  // Parses the reply and runs its code; true when the code gave the final answer.
  bool act(Step& step) {
    if (step.finish_reason == "length") {
      step.error = cut_off_error(params_);
      observer_.on_model_reply(step);
      return false;
    }
    auto parsed = parse_step(step.raw);
    if (auto* failure = std::get_if<ParseError>(&parsed)) {
      step.error = failure->message;
      observer_.on_model_reply(step);
      return false;
    }
    step.thought = std::get<ParsedStep>(parsed).thought;
    step.code = std::get<ParsedStep>(parsed).code;
    observer_.on_model_reply(step);

    sandbox::ExecResult result;
    try {
      result = sandbox_->execute(step.code);
    } catch (const std::exception& e) {  // not even a fresh worker could be started
      step.error = std::string("the sandbox failed: ") + e.what();
      sandbox_failure_ = e.what();
      return false;
    }
    step.exec_ms = result.exec_ms;
    step.observation = result.output;
    if (result.error) step.error = result.error;
    if (result.interrupted) return false;  // the loop records the step, then stops
    if (result.final_answer) {
      t_.final_answer = answer_text(*result.final_answer);
      return true;
    }
    show_images(step, result.artifacts);
    for (const std::string& entry : result.unread_entries) {
      *step.observation +=
          "\n[" + entry + " is not a regular file: mat does not follow or read it]";
    }
    if (!step.error && step.observation->empty() && step.images.empty()) {
      step.observation = std::string(kNoOutputHint);
    }
    return false;
  }

  void show_images(Step& step, const std::vector<fs::path>& artifacts) {
    int skipped = 0;
    for (const fs::path& artifact : artifacts) {
      if (!core::has_image_extension(artifact)) continue;
      if (static_cast<int>(step.images.size()) >= options_.max_images_per_step) {
        ++skipped;
        continue;
      }
      const std::string relative = artifact.lexically_relative(canonical_work_dir_).string();
      try {
        const std::string shown =
            snapshot_image(*work_, relative, run_dir_, step.index, options_.images);
        images_.get(run_dir_ / shown);
        step.images.push_back(shown);
        *step.observation += "\n[image " + relative + " is shown below]";
      } catch (const std::exception& e) {
        *step.observation += "\n[image " + relative + " cannot be shown: " + e.what() + "]";
      }
    }
    if (skipped > 0) {
      *step.observation += "\n[" + std::to_string(skipped) + " more image(s) not shown: at most " +
                           std::to_string(options_.max_images_per_step) + " per step]";
    }
  }

  llm::ChatResult ask_model(const std::vector<llm::ChatMessage>& messages,
                            const llm::GenerationParams& params) {
    partial_.clear();
    return model_.chat(messages, params, [this](std::string_view piece) {
      partial_.append(piece);
      observer_.on_model_token(piece);
    });
  }

  // A limit ended the run: ask once more for the best answer from what the memory holds.
  void cut_off(const char* reason) {
    observer_.on_limit_reached(reason);
    std::vector<llm::ChatMessage> messages = render_messages(system_prompt_, t_, run_dir_, images_);
    messages.push_back(llm::ChatMessage::text(llm::Role::kUser, best_answer_prompt(reason)));
    llm::GenerationParams params = options_.generation;
    try {
      const llm::ChatResult reply = ask_model(messages, params);
      t_.best_answer_request = BestAnswerRequest{reply.text, reply.usage.prompt_tokens,
                                                 reply.usage.completion_tokens, reply.latency_ms};
      if (reply.text.find_first_not_of(" \t\r\n") != std::string::npos) {
        t_.final_answer = reply.text;
      }
      end(reason, std::nullopt);
    } catch (const core::Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      end(reason, std::string("the best-answer request failed: ") + e.what());
    }
  }

  // Lets the observer save the record so far, with the time it has taken until now.
  void checkpoint() {
    t_.wall_ms = ms_since(started_);
    observer_.on_record_updated(t_);
  }

  bool end(const char* reason, std::optional<std::string> error) {
    t_.end_reason = reason;
    t_.error = std::move(error);
    return false;
  }

  llm::ChatModel& model_;
  const tools::ToolRegistry& registry_;
  const PromptTemplate& prompt_;
  const AgentOptions& options_;
  const fs::path run_dir_;
  const fs::path work_dir_;
  fs::path canonical_work_dir_;
  RunObserver& observer_;
  core::ImageCache images_;
  llm::GenerationParams params_;
  std::string system_prompt_;
  std::optional<core::ConfinedDir> work_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::string partial_;  // the reply being streamed, kept should it fail part-way
  std::optional<std::string> sandbox_failure_;
  Clock::time_point started_;
  Trajectory t_;
};

}  // namespace

std::string make_run_id() {
  std::random_device device;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "%08x", device());
  return core::utc_now("%Y%m%dT%H%M%SZ") + "-" + suffix;
}

Agent::Agent(llm::ChatModel& model, const tools::ToolRegistry& registry, PromptTemplate prompt,
             AgentOptions options)
    : model_(model), registry_(registry), prompt_(std::move(prompt)), options_(std::move(options)) {
  if (options_.max_steps < 1) throw core::Error("max steps must be at least 1");
  if (options_.max_consecutive_errors < 1)
    throw core::Error("max consecutive errors must be at least 1");
}

Trajectory Agent::run(const Task& task, const RunPaths& paths, RunObserver* observer) {
  RunObserver silent;
  return Run(model_, registry_, prompt_, options_, paths, observer ? *observer : silent)
      .execute(task);
}

}  // namespace mat::agent
