;; A seed for shim_modules_fuzz, assembled at build time (fuzz/CMakeLists.txt).
(module
  (type (func (param i32 i32)))
  (type (func (param i64) (result i32)))
  (table (export "$imports") 2 2 funcref)
  (func (export "0") (type 0) local.get 0 local.get 1 i32.const 1 call_indirect (type 0))
  (func (export "1") (type 1) local.get 0 i32.const 0 call_indirect (type 1)))
