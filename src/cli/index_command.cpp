#include "index_command.h"

#include <iostream>
#include <memory>
#include <set>

#include "mat/core/json.h"
#include "mat/tools/documents.h"
#include "mat/tools/search_corpus.h"

namespace mat::cli {
namespace {

struct IndexSettings {
  std::string source;
  std::string out;
  bool verbose = false;
};

constexpr size_t kReasonsShown = 10;

// Office documents and PDFs through the inspector's converters; text, markdown and HTML as the
// corpus reads them itself (it takes their titles from headings and <title>).
std::optional<tools::CorpusDocument> to_corpus_document(const std::filesystem::path& file) {
  static const std::set<std::string> kConverted = {".pdf", ".docx", ".pptx", ".xlsx", ".csv"};
  if (!kConverted.contains(file.extension().string())) return tools::plain_text_document(file);
  tools::DocumentLimits limits;
  limits.max_chars = size_t{4} << 20;  // an index wants the whole text, not a model's page
  const tools::Document document =
      tools::document_to_markdown(core::read_file(file), file.filename().string(), limits);
  return tools::CorpusDocument{.title = "", .text = document.markdown};
}

int index(const IndexSettings& s) {
  try {
    const tools::IndexStats stats = tools::build_corpus(s.source, s.out, to_corpus_document);
    std::cerr << "mat index: " << stats.added << " document" << (stats.added == 1 ? "" : "s")
              << " indexed into " << s.out << ", " << stats.skipped << " skipped\n";
    const size_t shown = s.verbose ? stats.skipped_reasons.size()
                                   : std::min(kReasonsShown, stats.skipped_reasons.size());
    for (size_t i = 0; i < shown; ++i)
      std::cerr << "  skipped " << stats.skipped_reasons[i] << "\n";
    if (shown < stats.skipped_reasons.size()) {
      std::cerr << "  ... and " << stats.skipped_reasons.size() - shown
                << " more (--verbose lists them all)\n";
    }
    std::cerr << "Use it with: export MAT_SEARCH_DB=" << s.out << "\n";
    return stats.added > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "mat index: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_index_command(CLI::App& app, int& exit_code) {
  auto settings = std::make_shared<IndexSettings>();
  CLI::App* cmd = app.add_subcommand(
      "index", "Build the offline search corpus for web_search from a folder of documents");
  cmd->add_option("dir", settings->source,
                  "The folder of documents (.txt, .md, .html, .pdf, .docx, .pptx, .xlsx, .csv)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--out", settings->out, "The corpus file to write (replaced atomically)")
      ->required();
  cmd->add_flag("-v,--verbose", settings->verbose, "List every skipped file with the reason");
  cmd->callback([settings, &exit_code] { exit_code = index(*settings); });
}

}  // namespace mat::cli
