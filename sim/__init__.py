"""pezo.sim"""
