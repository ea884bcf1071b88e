"""pezo.hw"""
