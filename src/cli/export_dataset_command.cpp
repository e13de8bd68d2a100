#include "export_dataset_command.h"

#include <iostream>
#include <memory>
#include <optional>

#include "mat/core/error.h"
#include "mat/engine/tokenizer.h"
#include "mat/train/dataset_export.h"
#include "training_data_flags.h"

namespace mat::cli {
namespace {

struct ExportDatasetSettings {
  TrainingDataSettings data;
  std::string format;
  std::string out;
  std::string name = "mat";
  std::string weights;
};

int export_dataset(const ExportDatasetSettings& s) {
  try {
    const train::ExportFormat format = train::parse_export_format(s.format);
    const train::DataOptions options = data_options(s.data);
    if (options.max_len > 0 && s.weights.empty()) {
      std::cerr << "mat export-dataset: --max-len counts tokens: pass the model's folder with "
                   "--weights DIR\n";
      return 2;
    }
    // The model's tokenizer and image processor, when given: samples are then measured, and
    // checked, exactly as `mat train` does.
    std::optional<engine::Tokenizer> tokenizer;
    engine::ImageProcessorConfig images;
    std::optional<train::SampleEncoder> encoder;
    if (!s.weights.empty()) {
      tokenizer.emplace(
          engine::Tokenizer::load(std::filesystem::path(s.weights) / "tokenizer.json"));
      const std::filesystem::path processor =
          std::filesystem::path(s.weights) / "preprocessor_config.json";
      if (std::filesystem::exists(processor))
        images = engine::load_image_processor_config(processor);
      encoder.emplace(*tokenizer, images);
    }
    train::DatasetWriter writer(format, s.out, s.name);
    const train::DataReport report = train::for_each_conversation(
        s.data.data, options, encoder ? &*encoder : nullptr,
        [&](const train::Conversation& conversation, train::Sample*) { writer.add(conversation); });
    const std::vector<std::filesystem::path> files = writer.finish();
    std::cerr << "mat export-dataset: " << report.summary(options.max_len) << "\n";
    for (const std::filesystem::path& file : files) std::cout << file.string() << "\n";
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "mat export-dataset: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_export_dataset_command(CLI::App& app, int& exit_code) {
  auto s = std::make_shared<ExportDatasetSettings>();
  CLI::App* cmd = app.add_subcommand(
      "export-dataset",
      "Write the training samples for LLaMA-Factory or ms-swift (same prompt, same targets as "
      "mat train), images copied beside");
  add_training_data_flags(*cmd, s->data);
  cmd->add_option("--format", s->format, "llamafactory or swift")
      ->required()
      ->check(CLI::IsMember(train::export_format_names()));
  cmd->add_option("--out", s->out, "The folder to write")->required();
  cmd->add_option("--name", s->name, "The data set's name (its file and dataset_info.json entry)")
      ->capture_default_str();
  cmd->add_option("--weights", s->weights,
                  "The model folder whose tokenizer measures --max-len (tokenizer.json, "
                  "preprocessor_config.json)")
      ->check(CLI::ExistingDirectory);
  cmd->callback([s, &exit_code] { exit_code = export_dataset(*s); });
}

}  // namespace mat::cli
