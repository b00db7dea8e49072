rtl/sprint_l_controller.v
rtl/sprint_l_exp2.v
rtl/sprint_l_recip.v
rtl/sprint_l_engine.v
rtl/sprint_l_buffer.v
rtl/sprint_l_core.v
rtl/sprint_l_top.v
