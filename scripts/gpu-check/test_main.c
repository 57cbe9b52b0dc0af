/* Entry of an AOT-built integration program: its MLIR @main is renamed. */
void egs_test_main(void);
int main(void) {
  egs_test_main();
  return 0;
}
