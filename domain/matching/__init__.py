"""Data matching across counties (数据比对): duplicate enrolment (跨统筹区重复参保)."""
