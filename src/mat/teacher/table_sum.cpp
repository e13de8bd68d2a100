// Family "table_sum": load a csv or xlsx table with pandas and sum one column over the rows of
// one group.
#include "mat/teacher/families.h"
#include "mat/teacher/file_writers.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

struct Grouping {
  std::string column;
  std::vector<std::string> groups;  // five: four used, one left for the inconsistent file
};

const std::vector<Grouping> kGroupings{
    {"region", {"North", "South", "East", "West", "Central"}},
    {"store", {"Downtown", "Airport", "Harbor", "Mall", "Station"}},
    {"team", {"Red", "Blue", "Green", "Gold", "Silver"}}};
const std::vector<std::string> kMeasures{"units", "orders", "boxes", "visits"};
const std::vector<std::string> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"};

class TableSum : public TaskFamily {
 public:
  std::string name() const override { return "table_sum"; }
  std::vector<std::string> stems() const override { return {"sales", "ledger", "tally"}; }
  std::vector<std::string> types() const override { return {"csv", "xlsx"}; }
  std::vector<std::string> phrasings() const override {
    return {"What is the total number of {{measure}} for {{group}} in {{file}}?",
            "Add up the {{measure}} of every row where {{key}} is {{group}} in {{file}}.",
            "In the table {{file}}, how many {{measure}} did {{group}} have altogether?",
            "Sum the {{measure}} column of {{file}} over the rows for {{group}}.",
            "Looking only at {{group}}, what do the {{measure}} in {{file}} add up to?"};
  }

  Task build(TaskDraw& draw) const override {
    const Grouping& grouping = draw.rng.pick(kGroupings);
    const std::string measure = draw.rng.pick(kMeasures);
    std::vector<std::string> groups = draw.rng.distinct(grouping.groups, 5);
    const std::string group = groups[0];
    const std::string spare = groups[4];  // in no row of the consistent file
    groups.pop_back();
    core::Json rows = core::Json::array({{grouping.column, "month", measure}});
    core::Json bad_rows = rows;
    int total = 0;
    for (size_t i = 0; i < kMonths.size(); ++i) {
      // The asked group in rows 0 and 3 at least, the others at random.
      const std::string row_group = i == 0 || i == 3 ? group : draw.rng.pick(groups);
      const int value = draw.rng.between(3, 95);
      if (row_group == group) total += value;
      rows.push_back({row_group, kMonths[i], value});
      bad_rows.push_back({row_group == group ? spare : row_group, kMonths[i], value});
    }
    draw.slots["measure"] = measure;
    draw.slots["group"] = group;
    draw.slots["key"] = grouping.column;

    Task task;
    TaskFile file;
    file.type = draw.type;
    file.name = draw.file;
    for (const core::Json& row : rows) {
      file.content += row[0].get<std::string>() + "," + row[1].get<std::string>() + "," +
                      (row[2].is_string() ? row[2].get<std::string>() : row[2].dump()) + "\n";
    }
    file.code = table_writer(draw.file, draw.type, rows);
    file.bad_code = table_writer(draw.file, draw.type, bad_rows);
    file.evidence = {measure, group};
    task.files.push_back(std::move(file));
    task.answer = std::to_string(total);
    task.tools = {};
    // The reader follows the file's extension in code rather than in the choice of a line.
    task.solution = {
        {"I will load the table with pandas and look at its columns before computing anything.",
         std::string("import pandas as pd\npath = ") + kTaskFile +
             "\ndf = pd.read_csv(path) if path.endswith(\".csv\") else pd.read_excel(path)\n"
             "print(df.head())"},
        // The group and the measure are found by looking the task's words up in the table,
        // not copied into the code (see document_difference.cpp).
        answer_step("I will find the group and the numeric column the task names, and sum that "
                    "column over the group's rows.",
                    "import re\nwords = re.findall(r\"\\w+\", task)\ngroup = next(word for word in "
                    "words if (df == word).to_numpy().any())\nmeasure = next(word for word in "
                    "words if word in df.select_dtypes(\"number\").columns)\nanswer = "
                    "int(df[(df == group).any(axis=1)][measure].sum())")};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_table_sum_family() {
  return std::make_unique<TableSum>();
}

}  // namespace mat::teacher
