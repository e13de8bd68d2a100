// inspect_file_as_text (MAT's name and arguments): a document of the working directory as
// markdown (documents.h). With a question, the tools' language model answers it from that text
// as in MAT; without a model the text comes back with the question, for the agent's own model.
#include "mat/tools/builtin_tools.h"
#include "mat/tools/documents.h"
#include "mat/tools/model_request.h"

namespace mat::tools {
namespace {

constexpr int kMaxAnswerTokens = 1024;
constexpr const char* kAnswerInstructions =
    "You answer a question about a document from its text alone. Quote names, numbers and dates "
    "exactly as the document writes them. When the text does not hold the answer, say so and "
    "say what it does hold.";

class InspectFileTool : public Tool {
 public:
  explicit InspectFileTool(std::shared_ptr<llm::ChatModel> model) : model_(std::move(model)) {}

  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string path = args.at("file_path").get<std::string>();
    const DocumentLimits limits;
    const Document document =
        document_to_markdown(context.read_file(path, limits.max_file_bytes), path, limits);
    if (!args.contains("question")) return document.markdown;
    const std::string question = args["question"].get<std::string>();
    if (!model_) {
      return "The text of '" + path + "' follows; answer the question '" + question +
             "' from it.\n\n" + document.markdown;
    }
    const std::vector<llm::ChatMessage> messages = {
        llm::ChatMessage::text(llm::Role::kSystem, kAnswerInstructions),
        llm::ChatMessage::text(
            llm::Role::kUser,
            "The document '" + path + "':\n\n" + document.markdown + "\n\nQuestion: " + question)};
    return ask_model(*model_, spec_.name, messages, context, kMaxAnswerTokens);
  }

 private:
  std::shared_ptr<llm::ChatModel> model_;
  ToolSpec spec_{
      .name = "inspect_file_as_text",
      .description =
          "Reads a document as markdown text: pdf (page by page), docx, pptx (slide by slide), "
          "xlsx (each sheet as a table with column letters and row numbers), csv, txt, md, json, "
          "xml, html, and zip archives (a listing and their text files). Long documents are cut "
          "with a marker. Not for images: use the image tools for those.",
      .inputs = {{.name = "file_path",
                  .type = ValueType::kString,
                  .description = "Path of the document in the working directory.",
                  .optional = false,
                  .default_value = nullptr},
                 {.name = "question",
                  .type = ValueType::kString,
                  .description = "What you want to know from the document: the answer is "
                                 "returned instead of the whole text.",
                  .optional = true,
                  .default_value = nullptr}},
      .output_type = ValueType::kString,
      .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_inspect_file_tool(std::shared_ptr<llm::ChatModel> model) {
  return std::make_unique<InspectFileTool>(std::move(model));
}

}  // namespace mat::tools
