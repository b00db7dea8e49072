rtl/tiny_controller.v
rtl/tiny_exp2.v
rtl/tiny_recip.v
rtl/tiny_engine.v
rtl/tiny_buffer.v
rtl/tiny_top.v
sim/tiny_xbar_model.v
sim/tiny_tb_harness.v
