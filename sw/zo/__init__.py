"""pezo.sw.zo"""
