#include "mat/tools/final_answer.h"

namespace mat::tools {
namespace {

class FinalAnswerTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }
  core::Json call(const core::Json& args, const ToolContext&) const override {
    return args.at("answer");
  }

 private:
  // The name and input follow MAT's published checkpoints, which call final_answer(answer=...).
  ToolSpec spec_{.name = "final_answer",
                 .description =
                     "Gives the final answer to the task and ends the run. Call it once "
                     "you know the answer; nothing after it in the same step runs.",
                 .inputs = {{.name = "answer",
                             .type = ValueType::kAny,
                             .description = "The final answer to the task.",
                             .optional = false,
                             .default_value = nullptr}},
                 .output_type = ValueType::kAny,
                 .ends_run = true};
};

}  // namespace

std::unique_ptr<Tool> make_final_answer_tool() {
  return std::make_unique<FinalAnswerTool>();
}

}  // namespace mat::tools
