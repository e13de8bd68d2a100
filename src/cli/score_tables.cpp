#include "score_tables.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace mat::cli {

namespace {

// Ids listed inline before the list is cut (the JSON output has them all).
constexpr size_t kIdsShown = 20;

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// "label   correct   of   percent", aligned.
void print_row(std::ostream& out, const std::string& label, const std::string& correct, int of,
               const std::optional<double>& percent) {
  char line[160];
  std::snprintf(line, sizeof(line), "  %-48s %8s %5d %8s\n", label.c_str(), correct.c_str(), of,
                percent ? fixed(*percent, 2).c_str() : "-");
  out << line;
}

void print_header(std::ostream& out) {
  char line[160];
  std::snprintf(line, sizeof(line), "  %-48s %8s %5s %8s\n", "", "correct", "of", "percent");
  out << line;
}

std::string id_list(const std::vector<std::string>& ids) {
  std::string text;
  for (size_t i = 0; i < ids.size() && i < kIdsShown; ++i) text += (i ? ", " : "") + ids[i];
  if (ids.size() > kIdsShown) text += ", ... (--json lists all)";
  return text;
}

void print_missing(std::ostream& out, const std::vector<std::string>& missing) {
  if (missing.empty()) return;
  out << "\nmissing predictions, scored as wrong: " << missing.size() << " (" << id_list(missing)
      << ")\n";
}

}  // namespace

void print_gta_table(std::ostream& out, const eval::GtaScores& scores) {
  out << "GTA: " << scores.queries.size() << " queries (" << scores.objective << " objective, "
      << scores.subjective << " subjective, " << scores.image_generation
      << " image generation)\n\n";
  print_header(out);
  print_row(out, "objective, official (word boundaries)", std::to_string(scores.objective_official),
            scores.objective, scores.objective_acc_official());
  print_row(out, "objective, MAT-style (substring, no blacklist)",
            std::to_string(scores.objective_mat), scores.objective, scores.objective_acc_mat());
  if (scores.subjective_sum) {
    print_row(out, "subjective, official (max cosine)", fixed(*scores.subjective_sum, 2),
              scores.subjective, scores.subjective_acc());
    print_row(out, "answers, official AnsAcc (objective + subj.)",
              fixed(scores.objective_official + *scores.subjective_sum, 2),
              scores.objective + scores.subjective, scores.answer_acc());
    out << "\nsubjective answers embedded with " << scores.embedding_model
        << " (the official evaluator uses all-mpnet-base-v2)\n";
  } else {
    out << "\nsubjective: not scored (" << scores.subjective
        << " queries): no embedding model; give --embedding-model (and --embedding-url), so "
           "AnsAcc is not given either\n";
  }
  out << "image generation: not scored (" << scores.image_generation
      << " queries): the official score needs the generation tools' arguments and BERTScore\n";
  if (!scores.boundary_quirk.empty()) {
    out << "official scorer quirk: " << scores.boundary_quirk.size()
        << " objective queries expect an alias that begins or ends with a non-word character "
           "(-2, 50%, $2697), which word boundaries cannot match where it is written plainly: "
        << id_list(scores.boundary_quirk) << "\n";
  }
  print_missing(out, scores.missing);
}

void print_gaia_table(std::ostream& out, const eval::GaiaScores& scores) {
  out << "GAIA: " << scores.total << " tasks, official quasi-exact match\n\n";
  print_header(out);
  print_row(out, "all levels", std::to_string(scores.correct), scores.total, scores.accuracy());
  for (int level = 1; level <= 3; ++level) {
    print_row(out, "level " + std::to_string(level),
              std::to_string(scores.level_correct[level - 1]), scores.level_total[level - 1],
              scores.level_accuracy(level));
  }
  print_missing(out, scores.missing);
}

}  // namespace mat::cli
