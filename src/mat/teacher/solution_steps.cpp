#include "mat/teacher/solution_steps.h"

namespace mat::teacher {

SolutionStep ocr_step(const std::string& what) {
  return {"I need the text of the " + what + " first. I will read it with ocr and print it.",
          std::string("result = ocr(image_path=") + kTaskFile + ")\nprint(result[\"text\"])"};
}

SolutionStep inspect_step(const std::string& what) {
  return {"I need the " + what +
              "'s text first. I will read it with inspect_file_as_text and print "
              "it.",
          std::string("text = inspect_file_as_text(file_path=") + kTaskFile + ")\nprint(text)"};
}

SolutionStep face_step() {
  return {
      "I need the faces in the photo first. I will find them with facedetection and print "
      "how many there are.",
      std::string("faces = facedetection(image_path=") + kTaskFile + ")\nprint(len(faces), faces)"};
}

SolutionStep answer_step(const std::string& thought, const std::string& lines) {
  return {thought, lines + "\nprint(answer)\n" + kFinalAnswer};
}

SolutionStep with_wrong_answer(SolutionStep step) {
  const std::string right = kFinalAnswer;
  const auto at = step.code.rfind(right);
  if (at != std::string::npos) step.code.replace(at, right.size(), kWrongFinalAnswer);
  return step;
}

}  // namespace mat::teacher
