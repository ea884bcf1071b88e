"""pezo.sw"""
