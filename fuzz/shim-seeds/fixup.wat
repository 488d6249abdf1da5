;; A seed for shim_modules_fuzz, assembled at build time (fuzz/CMakeLists.txt).
(module
  (type (func (param i32 i32)))
  (import "actual" "0" (func (type 0)))
  (import "actual" "1" (func (param i64) (result i32)))
  (import "main" "_initialize" (func))
  (import "shim" "$imports" (table 2 2 funcref))
  (elem (i32.const 0) func 1 0)
  (start 2))
