"""pezo.sw.golden"""
