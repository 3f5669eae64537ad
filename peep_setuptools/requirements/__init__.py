"""Requirement files, peep's and pip's formats: text in, frozen values out; editing and porting."""
