"""pezo.build"""
