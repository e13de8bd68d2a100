// The Tool interface: a declarative schema (name, description written for the model, typed
// inputs, output type) plus a call. Schemas are validated when a tool is registered, so a bad tool
// fails at start-up rather than in the middle of a run.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/error.h"
#include "mat/core/json.h"

namespace mat::tools {

enum class ValueType { kString, kInteger, kNumber, kBoolean, kImage, kArray, kObject, kAny };

// "string", "integer", "number", "boolean", "image", "array", "object", "any".
std::string_view type_name(ValueType type);
std::optional<ValueType> parse_type_name(std::string_view name);

struct ToolInput {
  std::string name;
  ValueType type = ValueType::kString;
  std::string description;
  bool optional = false;
  core::Json default_value;  // used when optional and not given (null = absent)
};

struct ToolSpec {
  std::string name;
  std::string description;
  std::vector<ToolInput> inputs;
  ValueType output_type = ValueType::kAny;
  bool ends_run = false;  // calling it ends the agent's run (final_answer)

  core::Json to_json() const;
  std::vector<std::string> input_names() const;
};

// Where a tool call happens. Paths in arguments name files of the run's working directory (the
// sandbox's, which its code can fill with links and special files): every access goes through
// here, relative to that folder and without following links.
struct ToolContext {
  std::filesystem::path work_dir;
  // When the agent's step ends: a tool waiting on something slow (a model, a server) gives up by
  // then. The default, for `mat tool` and tests: no limit.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // `path` relative to the work dir ('/'-separated, no "." or ".."). Absolute paths inside the
  // work dir are accepted. Throws ToolError when the path leads outside it.
  std::string relative(const std::string& path) const;
  // The bytes of the regular file at `path`; ToolError when it is missing, a link, a special
  // file, empty (when `allow_empty` is false) or larger than `max_bytes`.
  std::string read_file(const std::string& path, size_t max_bytes, bool allow_empty = false) const;
  // Writes `bytes` to a new file named `name` in the work dir, or `stem_2.ext`, `stem_3.ext`, ...
  // when that is taken (nothing is ever replaced). Returns the name it got.
  std::string write_new_file(const std::string& name, std::string_view bytes) const;
};

// A failure the model caused and can fix (bad argument, missing file, ...). The message is shown
// to the model as the exception its code receives.
class ToolError : public core::Error {
 public:
  using core::Error::Error;
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  // `args` are already validated against spec() and have defaults filled in.
  // const: a registry shares one tool between concurrent runs; state a tool needs (a model
  // client, a cache) must be safe to use from several threads.
  virtual core::Json call(const core::Json& args, const ToolContext& context) const = 0;
  // Why the tool cannot work on this machine (a model file or language data missing, an endpoint
  // not configured), saying what to install or set; nullopt when it can. Unavailable tools are
  // left out of the agent's tool set, never offered and then broken.
  virtual std::optional<std::string> unavailable() const { return std::nullopt; }
};

}  // namespace mat::tools
