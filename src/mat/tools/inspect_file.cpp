// inspect_file_as_text (MAT's name and arguments): a document of the working directory as
// markdown (documents.h). MAT's version answers `question` with an LLM; here the question is
// handed back with the text for the agent's own model to answer until tools get a model of their
// own, so that prompts and data written for MAT keep working.
#include "mat/tools/builtin_tools.h"
#include "mat/tools/documents.h"

namespace mat::tools {
namespace {

class InspectFileTool : public Tool {
 public:
  const ToolSpec& spec() const override { return spec_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const std::string path = args.at("file_path").get<std::string>();
    const DocumentLimits limits;
    const Document document =
        document_to_markdown(context.read_file(path, limits.max_file_bytes), path, limits);
    if (!args.contains("question")) return document.markdown;
    return "The text of '" + path + "' follows; answer the question '" +
           args["question"].get<std::string>() + "' from it.\n\n" + document.markdown;
  }

 private:
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
                  .description = "What you want to know from the document (it is returned with "
                                 "the text).",
                  .optional = true,
                  .default_value = nullptr}},
      .output_type = ValueType::kString,
      .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_inspect_file_tool() {
  return std::make_unique<InspectFileTool>();
}

}  // namespace mat::tools
