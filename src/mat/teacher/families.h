// The factories of the teacher's task families (one file each).
#pragma once

#include <memory>

#include "mat/teacher/task_family.h"

namespace mat::teacher {

std::unique_ptr<TaskFamily> make_receipt_total_family();        // ocr: sum of a receipt's prices
std::unique_ptr<TaskFamily> make_event_days_family();           // ocr + dates: days between two
std::unique_ptr<TaskFamily> make_face_tickets_family();         // facedetection × a number
std::unique_ptr<TaskFamily> make_face_boxes_family();           // facedetection + draw_box
std::unique_ptr<TaskFamily> make_table_sum_family();            // csv/xlsx: a group's column sum
std::unique_ptr<TaskFamily> make_document_difference_family();  // docx/pdf/txt: a - b
std::unique_ptr<TaskFamily> make_landmark_year_family();  // a note's place, web_search: its year

}  // namespace mat::teacher
